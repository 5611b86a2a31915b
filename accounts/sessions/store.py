"""The session engine: Django's database backend on the project's own model.

Besides the data, each row records its user, IP, user agent, when it was
created and last active, and when the server stops accepting it (computed by
accounts.sessions.policy, never left to the cookie). A rotated key's row points
to its successor for a short grace, so requests already in flight still work.
"""

from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.core.exceptions import SuspiciousOperation
from django.utils import timezone

from accounts.models import Session, new_public_id
from accounts.sessions import policy as session_policy

USER_AGENT_MAX_LENGTH = Session._meta.get_field("user_agent").max_length


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

    def _fetch(self, session_key):
        try:
            return self.model.objects.filter(session_key=session_key).first()
        except SuspiciousOperation:
            return None

    def _get_session_from_db(self):
        now = timezone.now()
        row = self._fetch(self.session_key)
        if row is not None and row.successor_key and row.expire_date > now:
            # Rotated moments ago: serve the successor, whose key the response sends.
            row = self._fetch(row.successor_key)
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
            self.delete(row.session_key)
            self._session_key = None
            return None
        self._session_key = row.session_key
        self.row = row
        self.public_id = row.public_id
        self.created_at = row.created_at
        self.last_activity = row.last_activity
        self.device_key = row.device_key
        self.device_bound_at = row.device_bound_at
        self.ip = self.ip or row.ip
        self.user_agent = self.user_agent or row.user_agent
        return row

    async def _aget_session_from_db(self):
        return await sync_to_async(self._get_session_from_db)()

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
        obj.user_agent = self.user_agent
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
        return self._with_metadata(super().create_model_instance(data), data)

    async def acreate_model_instance(self, data):
        return self._with_metadata(await super().acreate_model_instance(data), data)

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
        claimed = self.model.objects.filter(session_key=old_key, successor_key__isnull=True).update(
            successor_key=self.session_key, expire_date=now + timedelta(seconds=grace)
        )
        if not claimed:
            # A parallel request rotated this key first: adopt its successor
            # rather than fork the session into two.
            winner = self.model.objects.filter(session_key=old_key).values_list("successor_key", flat=True).first()
            self.delete()
            self._session_key = winner

    def cycle_key(self):
        session_policy.mark_rotated(self)
        super().cycle_key()

    async def acycle_key(self):
        await session_policy.amark_rotated(self)
        await super().acycle_key()

    @classmethod
    def end(cls, queryset) -> set[str]:
        """Delete the sessions of `queryset` (with their grace rows); return their public ids.

        Everything that ends sessions in bulk goes through here, so that a
        cached variant can forget them too.
        """
        public_ids = set(queryset.values_list("public_id", flat=True))
        rows = cls.get_model_class().objects.filter(public_id__in=public_ids)
        keys = list(rows.values_list("session_key", flat=True))
        rows.delete()
        cls.forget(keys)
        return public_ids

    @classmethod
    def forget(cls, session_keys) -> None:
        """Drop any copies of these sessions kept outside the table (none in this engine)."""

    def flush(self):
        # A flushed session (sign-out, a different user signing in) is a new
        # session, not the old one under a new key.
        super().flush()
        self._reset_metadata()

    async def aflush(self):
        await super().aflush()
        self._reset_metadata()


def engine_store():
    """The configured engine's SessionStore (this one, or its cached variant)."""
    return import_module(settings.SESSION_ENGINE).SessionStore
