"""The session engine: Django's database backend on the project's own model.

Besides the data, each row records its user, IP, user agent, when it was
created and last active, and when the server stops accepting it (computed by
accounts.sessions.policy, never left to the cookie). A rotated key's row points
to its successor for a short grace, so requests already in flight still work.

Deliberate differences from django.contrib.sessions.backends.db, which the
contract tests (tests/accounts/sessions/test_session_contract.py) assert as such:
- the table's primary key is hash_key(key), never the key; `exists()`,
  `delete()` and loading hash what they are given;
- the server's deadline (`expire_date`) is the policy's; `set_expiry()` may
  shorten it (an idle limit or a moment sooner than the policy's) but never
  lengthen it, and `get_expiry_age()`/`get_expiry_date()` keep describing the
  cookie, as in Django;
- `cycle_key()` and `rotate()` add `_rotated_at` to the data;
- the secrets of SEALED_KEYS are stored sealed with a key derived from the
  session key: `decode()` without the key (the admin, a dump, the cache)
  leaves them out;
- `Session.__str__` shows the public id, never the key;
- a session ended by another request while this one ran stays ended: a save
  or key change that finds its row gone flushes the data and sets
  `ended_meanwhile`, and nothing this request does writes a row again
  (Django would save such a session as a new one, or raise UpdateError);
- every async twin runs its sync method in a thread, so both engines (and the
  cache in front of one) behave the same whichever side calls them;
- `clear_expired()` deletes in short batches (a walk over the table's pages on
  PostgreSQL) under the purge's lock, so `clearsessions` is safe on a busy site.
"""

import base64
import hmac
from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module

from asgiref.sync import sync_to_async
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.core.exceptions import SuspiciousOperation
from django.db import connections, router
from django.utils import timezone

from accounts import backend_paths
from accounts.models import Session, hash_key, new_public_id
from accounts.sessions import policy as session_policy
from accounts.sessions import purge

USER_AGENT_MAX_LENGTH = Session._meta.get_field("user_agent").max_length
SEAL_CONTEXT = b"shopdemo.session.successor"
DATA_SEAL_CONTEXT = b"shopdemo.session.data"
# What libraries and flows keep in the session that would let its reader act
# as the visitor: the live reset token, a passkey ceremony's challenge, the
# held critical POST, whose OTP step comes next. Stored under SEALED, sealed
# with the session's own key: the row, the cache copy and the admin hold only
# ciphertext that no one without the cookie can open.
SEALED_KEYS = frozenset(
    {
        INTERNAL_RESET_SESSION_TOKEN,
        session_policy.PASSKEY_REGISTER,
        session_policy.PASSKEY_AUTHENTICATE,
        session_policy.PASSKEY_SIGN_UP,
        session_policy.RESUME,
        session_policy.MFA_PENDING,
    }
)
SEALED = "_sealed"


def _fernet(key: str, context: bytes = SEAL_CONTEXT) -> Fernet:
    """A Fernet key derived from a session key (HKDF): only its holder can open the seal."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=context).derive(key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(new_key: str, *, old_key: str) -> str:
    """Encrypt the successor's key so that only a holder of the old key can read it.

    The table holds hashes and seals, and neither signs anyone in.
    """
    return _fernet(old_key).encrypt(new_key.encode()).decode()


def unseal(sealed: str, *, old_key: str, successor_hash: str) -> str | None:
    """Return the successor's key if `old_key` opens the seal, else None."""
    try:
        key = _fernet(old_key).decrypt(sealed.encode()).decode("ascii")
    except (InvalidToken, ValueError):  # no seal, or not one of ours
        return None
    return key if hmac.compare_digest(hash_key(key), successor_hash) else None


_BY_PK_SQL = {}  # (model, database alias) -> the SELECT of row_by_pk


def row_by_pk(model, pk):
    """The `model` row whose primary key is `pk`, or None: the ORM's SELECT, compiled once per process.

    Every signed-in request reads its session and its user by primary key. Compiling those
    queries cost the ORM about as much CPU as running them (0.15 ms each here), so the SQL
    the ORM writes for the database is kept and only the key changes.
    """
    alias = router.db_for_read(model)
    field = model._meta.pk
    value = field.get_db_prep_value(field.to_python(pk), connections[alias])
    if (model, alias) not in _BY_PK_SQL:
        query = model._default_manager.using(alias).filter(pk=value)[:1].query
        _BY_PK_SQL[model, alias] = query.get_compiler(alias).as_sql()[0]
    return next(iter(model._default_manager.raw(_BY_PK_SQL[model, alias], [value], using=alias)), None)


@dataclass(frozen=True)
class Ended:
    """A session found past its server-side expiry when it was presented."""

    row: Session
    data: dict
    reason: str


class SessionStore(DBStore):
    """Database sessions that record who, where and when, and enforce their own expiry."""

    def __init__(self, session_key=None, *, ip=None, user_agent=""):
        super().__init__(session_key)
        # Where the current request comes from; None/"" outside a request
        # (admin actions, commands) keep what the row already holds.
        self.ip = ip or None
        self.user_agent = user_agent[:USER_AGENT_MAX_LENGTH]
        # What loading found, for the middleware: the row, an expired session's
        # data and reason, whether the key was unknown or was followed to its successor.
        self.ended = None
        self.unknown_key = False
        self.rekeyed = False
        self.ended_meanwhile = False  # see _end_meanwhile()
        self._reset_metadata()

    @classmethod
    def get_model_class(cls):
        return Session

    def _reset_metadata(self):
        self.public_id = None  # drawn when the row is first written: browsing costs nothing
        self.created_at = None
        self.last_activity = None
        self.device_key = None  # the DBSC public key, once the browser registered one
        self.device_bound_at = None
        self.row = None

    # -- loading --------------------------------------------------------------

    def load(self):
        data = super().load()
        if data.get(BACKEND_SESSION_KEY) in backend_paths.REPLACED:
            # Signed in before accounts.backends: the upgrade signs nobody out.
            data[BACKEND_SESSION_KEY] = backend_paths.REPLACED[data[BACKEND_SESSION_KEY]]
            self.modified = True
        return data

    def decode(self, session_data):
        data = super().decode(session_data)
        sealed = data.pop(SEALED, None)
        if sealed is None:
            return data
        if self.session_key is None:
            data[SEALED] = sealed  # kept as it is, unread: a rewrite() passes it on
            return data
        try:
            data.update(self.serializer().loads(_fernet(self.session_key, DATA_SEAL_CONTEXT).decrypt(sealed.encode())))
        except InvalidToken:  # sealed under another key: those secrets are gone
            pass
        return data

    def encode(self, session_dict):
        secrets = {key: value for key, value in session_dict.items() if key in SEALED_KEYS}
        if secrets:
            plain = {key: value for key, value in session_dict.items() if key not in SEALED_KEYS}
            sealed = _fernet(self.session_key, DATA_SEAL_CONTEXT).encrypt(self.serializer().dumps(secrets))
            session_dict = {**plain, SEALED: sealed.decode()}
        return super().encode(session_dict)

    def _fetch(self, key_hash):
        """Return the row stored under `key_hash`, or None."""
        try:
            return row_by_pk(self.model, key_hash)
        except SuspiciousOperation:
            return None

    def _get_session_from_db(self):
        now = timezone.now()
        key = self.session_key
        row = self._fetch(hash_key(key)) if key else None
        if row is not None and row.successor_key and row.expire_date > now:
            # Rotated moments ago: serve the successor, whose key the response sends.
            key = unseal(row.successor_seal, old_key=key, successor_hash=row.successor_key)
            row = self._fetch(row.successor_key) if key else None
            self.rekeyed = row is not None
        if row is None:
            self.unknown_key = self.session_key is not None
            self._session_key = None
            return None
        if row.expire_date <= now:
            # A rotated key's row holds no data of its own: only its grace ran out.
            data = {} if row.successor_key else self.decode(row.session_data)
            reason = session_policy.ROTATED if row.successor_key else session_policy.end_reason(data, now)
            self.ended = Ended(row=row, data=data, reason=reason)
            self._delete_rows([row.session_key])
            self._session_key = None
            return None
        self._session_key = key
        self.row = row
        self.public_id = row.public_id
        self.created_at = row.created_at
        self.last_activity = row.last_activity
        self.device_key = row.device_key
        self.device_bound_at = row.device_bound_at
        self.ip = self.ip or row.ip
        self.user_agent = self.user_agent or row.user_agent
        return row

    def exists(self, session_key):
        # As Django's: no key names no session.
        return bool(session_key) and self.model.objects.filter(session_key=hash_key(session_key)).exists()

    # -- saving ---------------------------------------------------------------

    def _with_metadata(self, obj, data):
        user_id = data.get(SESSION_KEY)
        now = timezone.now()
        # Only record_activity() moves last_activity: saving for another reason
        # (a rotation, a status poll) must not keep an idle session alive.
        self.created_at = self.created_at or now
        self.last_activity = self.last_activity or now
        self.public_id = self.public_id or new_public_id()
        obj.public_id = self.public_id
        obj.user_id = get_user_model()._meta.pk.to_python(user_id) if user_id else None
        obj.ip = self.ip
        # A guest session keeps the browser that started it: signing in carries
        # its cart only for that browser (accounts.flows.sign_in).
        obj.user_agent = self.row.user_agent if self.row is not None and not user_id else self.user_agent
        obj.remember = bool(data.get(session_policy.REMEMBER))
        obj.guest_cart_id = data.get(session_policy.CART_SESSION_KEY)
        obj.created_at = self.created_at
        obj.last_activity = self.last_activity
        obj.device_key = self.device_key
        obj.device_bound_at = self.device_bound_at
        obj.expire_date = session_policy.expiry(data, self.last_activity)
        self.row = obj
        return obj

    def save(self, must_create=False):
        if self.ended_meanwhile:
            return  # never again a row: Django would otherwise create one under a new key
        try:
            super().save(must_create=must_create)
        except UpdateError:  # the row is gone: a sign-out, a revocation, staff, a password change
            self._end_meanwhile()

    def _end_meanwhile(self) -> None:
        """Another request ended this session while this one ran: it stays ended (ASVS V7.4.1).

        The data goes, the key goes, and save() writes nothing from now on, so the
        response can only sign the browser out (accounts.sessions.middleware).
        """
        self.ended_meanwhile = True
        self._session_cache = {}
        self._session_key = None
        self.modified = True
        self._reset_metadata()

    def create_model_instance(self, data):
        obj = super().create_model_instance(data)
        obj.session_key = hash_key(obj.session_key)
        return self._with_metadata(obj, data)

    def delete(self, session_key=None):
        key = session_key or self.session_key
        if key:
            self._delete_rows([hash_key(key)])

    def _delete_rows(self, key_hashes) -> int:
        """Delete these rows; return how many there were."""
        return self.model.objects.filter(session_key__in=key_hashes).delete()[0]

    def record_activity(self):
        """Count this request as the user's activity: the idle timer restarts when saved."""
        self.last_activity = timezone.now()
        self.modified = True

    def bind_device(self, public_jwk: dict) -> None:
        """Bind the session to the browser's DBSC key: from now on it needs the bound cookie."""
        self.device_key = public_jwk
        self.device_bound_at = timezone.now()
        self.modified = True

    # -- key changes ----------------------------------------------------------

    def rotate(self, *, grace: int):
        """Give the session a new key; the old one keeps working for `grace` seconds only."""
        old_key = self.session_key
        now = timezone.now()
        session_policy.mark_rotated(self)
        self.create()
        claimed = self.model.objects.filter(session_key=hash_key(old_key), successor_key__isnull=True).update(
            successor_key=hash_key(self.session_key),
            successor_seal=seal(self.session_key, old_key=old_key),
            expire_date=now + timedelta(seconds=grace),
        )
        if not claimed:
            # A parallel request rotated this key first: adopt its successor
            # rather than fork the session into two; no row at all: it was ended meanwhile.
            winner = self.model.objects.filter(session_key=hash_key(old_key)).first()
            self.delete()
            successor = winner and unseal(winner.successor_seal, old_key=old_key, successor_hash=winner.successor_key)
            if successor is None:
                self._end_meanwhile()
            else:
                self._session_key = successor  # if that one has ended too, the response's save finds out

    def cycle_key(self):
        data = self._get_session()  # load first: the key is known to be current only once loaded
        old_key = self.session_key
        # A signed-in session's old row is claimed by deleting it: if it was gone already,
        # another request ended the session, and a new key must not bring it back. A guest
        # session being signed in needs no claim: the password just given is the authority
        # (and two tabs signing in from one guest session each get their own).
        if old_key and session_policy.is_authenticated(data) and not self._delete_rows([hash_key(old_key)]):
            self._end_meanwhile()
            return
        session_policy.mark_rotated(self)
        super().cycle_key()

    @classmethod
    def clear_expired(cls, *, now=None, batch_size: int = purge.DEFAULT_BATCH_SIZE, on_batch=purge.no_progress) -> int:
        """Delete the expired sessions in short batches; return how many (Django's clearsessions calls this).

        Django's own is one DELETE in one transaction, holding its locks for as long
        as the whole table takes. On PostgreSQL only one purge runs at a time: while
        another holds the lock this removes nothing and returns 0.
        """
        with purge.purge_lock() as acquired:
            if not acquired:
                return 0
            return purge.delete_expired_sessions(now or timezone.now(), batch_size, on_batch)

    @classmethod
    def end(cls, queryset) -> set[str]:
        """Delete the sessions of `queryset` (with their grace rows); return their public ids.

        Everything that ends sessions in bulk goes through here. A request of one of
        them that is still running finds its row gone when it saves or rotates, and
        then stays ended (save(), rotate()).
        """
        public_ids = set(queryset.values_list("public_id", flat=True))
        cls.get_model_class().objects.filter(public_id__in=public_ids).delete()
        return public_ids

    @classmethod
    def rewrite(cls, row, **changes) -> None:
        """Change keys in the data of a stored session known only by its row (its key is not kept)."""
        data = {**row.get_decoded(), **changes}
        cls.get_model_class().objects.filter(pk=row.pk).update(session_data=cls().encode(data))

    def flush(self):
        # A flushed session (sign-out, a different user signing in) is a new
        # session, not the old one under a new key.
        super().flush()
        self._reset_metadata()

    # -- async twins -----------------------------------------------------------
    # Django's db backend writes its async twins out query by query; here each
    # runs the sync method, so the cache, hashing and metadata cannot drift
    # between the two (a gap that once let a cached key outlive alogout()).

    async def aload(self):
        return await sync_to_async(self.load)()

    async def aexists(self, session_key):
        return await sync_to_async(self.exists)(session_key)

    async def acreate(self):
        await sync_to_async(self.create)()

    async def asave(self, must_create=False):
        await sync_to_async(self.save)(must_create=must_create)

    async def adelete(self, session_key=None):
        await sync_to_async(self.delete)(session_key)

    async def aflush(self):
        await sync_to_async(self.flush)()

    async def acycle_key(self):
        await sync_to_async(self.cycle_key)()

    async def acreate_model_instance(self, data):
        return await sync_to_async(self.create_model_instance)(data)

    @classmethod
    async def aclear_expired(cls):
        await sync_to_async(cls.clear_expired)()


def engine_store():
    """The configured engine's SessionStore (SESSION_ENGINE: this one, or a subclass)."""
    return import_module(settings.SESSION_ENGINE).SessionStore
