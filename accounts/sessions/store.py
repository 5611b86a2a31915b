"""The session engine: Django's database backend on the project's own model.

Besides the data, each row records its user, IP, user agent, when it was
created and last active, and when the server stops accepting it (computed by
accounts.sessions.policy, never left to the cookie). A rotated key's row points
to its successor for a short grace, so requests already in flight still work.

Deliberate differences from django.contrib.sessions.backends.db, which the
contract tests (tests/accounts/test_session_contract.py) assert as such:
- the table's primary key is hash_key(key), never the key; `exists()`,
  `delete()` and loading hash what they are given;
- the server's deadline (`expire_date`) is the policy's; `set_expiry()` may
  shorten it (an idle limit or a moment sooner than the policy's) but never
  lengthen it, and `get_expiry_age()`/`get_expiry_date()` keep describing the
  cookie, as in Django;
- `cycle_key()` and `rotate()` add `_rotated_at` to the data;
- `Session.__str__` shows the public id, never the key;
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


def _fernet(old_key: str) -> Fernet:
    """A Fernet key derived from the old session key (HKDF): only its holder can open the seal."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SEAL_CONTEXT).derive(old_key.encode())
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
        return self.model.objects.filter(session_key=hash_key(session_key)).exists()

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

    def create_model_instance(self, data):
        obj = super().create_model_instance(data)
        obj.session_key = hash_key(obj.session_key)
        return self._with_metadata(obj, data)

    def delete(self, session_key=None):
        key = session_key or self.session_key
        if key:
            self._delete_rows([hash_key(key)])

    def _delete_rows(self, key_hashes) -> None:
        self.model.objects.filter(session_key__in=key_hashes).delete()
        self.forget(key_hashes)

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
            # rather than fork the session into two.
            winner = self.model.objects.filter(session_key=hash_key(old_key)).first()
            self.delete()
            self._session_key = winner and unseal(
                winner.successor_seal, old_key=old_key, successor_hash=winner.successor_key
            )

    def cycle_key(self):
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

        Everything that ends sessions in bulk goes through here, so that a
        cached variant can forget them too.
        """
        public_ids = set(queryset.values_list("public_id", flat=True))
        rows = cls.get_model_class().objects.filter(public_id__in=public_ids)
        key_hashes = list(rows.values_list("session_key", flat=True))
        rows.delete()
        cls.forget(key_hashes)
        return public_ids

    @classmethod
    def forget(cls, key_hashes) -> None:
        """Drop any copies of these rows kept outside the table (none in this engine)."""

    @classmethod
    def load_user(cls, user_id):
        """The signed-in user's row, or None if it is gone (accounts.backends): Django's query, compiled once."""
        return row_by_pk(get_user_model(), user_id)

    @classmethod
    def forget_user(cls, user_id) -> None:
        """Drop any copy of this user's row kept outside the table (none in this engine)."""

    @classmethod
    def rewrite(cls, row, **changes) -> None:
        """Change keys in the data of a stored session known only by its row (its key is not kept)."""
        data = {**row.get_decoded(), **changes}
        cls.get_model_class().objects.filter(pk=row.pk).update(session_data=cls().encode(data))
        cls.forget([row.pk])

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
    """The configured engine's SessionStore (this one, or its cached variant)."""
    return import_module(settings.SESSION_ENGINE).SessionStore
