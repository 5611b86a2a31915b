"""The session model: Django's database session plus who, where and when."""
import secrets

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.utils import timezone


def new_public_id() -> str:
    """Return a random id that names a session in URLs and logs instead of its key."""
    return secrets.token_urlsafe(16)


class Session(AbstractBaseSession):
    """A session row; the key is the secret, `public_id` is what pages and logs show."""

    # Not unique: a rotated session keeps its public id, and for a short grace
    # the previous key's row exists beside the new one.
    public_id = models.CharField(max_length=32, db_index=True, default=new_public_id, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,  # ASVS V7.4.2: deleting an account ends its sessions
        related_name="sessions",
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_activity = models.DateTimeField(default=timezone.now)
    # Set on a rotated key's row: requests still carrying it are served from
    # the successor until the row's short grace expiry.
    successor_key = models.CharField(max_length=40, null=True, blank=True, editable=False)

    @classmethod
    def get_session_store_class(cls):
        from accounts.session_store import SessionStore

        return SessionStore

    @property
    def is_guest(self) -> bool:
        return self.user_id is None

    def __str__(self):
        return f"{self.user or 'guest'} session {self.public_id}"
