"""The session engine: Django's database backend on the project's own model.

Besides the data, each row records its user, IP, user agent, when it was
created and when it was last active, so that users can see their devices and
staff and operators can see who holds which session.
"""
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.utils import timezone

from accounts.models import Session, new_public_id

USER_AGENT_MAX_LENGTH = Session._meta.get_field("user_agent").max_length


class SessionStore(DBStore):
    """Database sessions that also record who, where and when."""

    def __init__(self, session_key=None, *, ip=None, user_agent=""):
        super().__init__(session_key)
        # Where the current request comes from; None/"" outside a request
        # (admin actions, commands) keep what the row already holds.
        self.ip = ip or None
        self.user_agent = user_agent[:USER_AGENT_MAX_LENGTH]
        self._reset_metadata()

    @classmethod
    def get_model_class(cls):
        return Session

    def _reset_metadata(self):
        self.public_id = new_public_id()
        self.created_at = None
        self.row = None

    def _remember(self, row):
        """Keep the loaded row's metadata so a save or key rotation carries it over."""
        if row is not None:
            self.row = row
            self.public_id = row.public_id
            self.created_at = row.created_at
            self.ip = self.ip or row.ip
            self.user_agent = self.user_agent or row.user_agent
        return row

    def _get_session_from_db(self):
        return self._remember(super()._get_session_from_db())

    async def _aget_session_from_db(self):
        return self._remember(await super()._aget_session_from_db())

    def _with_metadata(self, obj, data):
        user_id = data.get(SESSION_KEY)
        now = timezone.now()
        if self.created_at is None:
            self.created_at = now
        obj.public_id = self.public_id
        obj.user_id = get_user_model()._meta.pk.to_python(user_id) if user_id else None
        obj.ip = self.ip
        obj.user_agent = self.user_agent
        obj.created_at = self.created_at
        obj.last_activity = now
        return obj

    def create_model_instance(self, data):
        return self._with_metadata(super().create_model_instance(data), data)

    async def acreate_model_instance(self, data):
        return self._with_metadata(await super().acreate_model_instance(data), data)

    def flush(self):
        # A flushed session (sign-out, a different user signing in) is a new
        # session, not the old one under a new key.
        super().flush()
        self._reset_metadata()

    async def aflush(self):
        await super().aflush()
        self._reset_metadata()
