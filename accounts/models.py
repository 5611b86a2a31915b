"""The session model: Django's database session plus who, where and when."""

import hashlib
import secrets
import string

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.utils import timezone


def hash_key(session_key: str) -> str:
    """Return what the table stores for a session key: its SHA-256, never the key itself.

    The key is a 165-bit random bearer credential, so a plain hash cannot be
    reversed by guessing; a dump, the admin or a log then signs nobody in
    (the cure of Rails' CVE-2019-16782).
    """
    return hashlib.sha256(session_key.encode()).hexdigest()


def new_public_id() -> str:
    """Return a random id that names a session in URLs and logs instead of its key.

    A letter first, then 128 random bits in base64url: the id is then a valid
    structured-field token, so a DBSC browser may send it bare or quoted.
    """
    return secrets.choice(string.ascii_letters) + secrets.token_urlsafe(16)


def live_condition(now=None) -> models.Q:
    """Sessions the server still accepts at `now`.

    A rotated key's row is not a session of its own: during its grace it only
    points to the successor, and afterwards it is expired like any other row.
    """
    return models.Q(expire_date__gt=now or timezone.now(), successor_key__isnull=True)


class SessionQuerySet(models.QuerySet):
    def live(self):
        return self.filter(live_condition())


class Session(AbstractBaseSession):
    """A session row, stored under a hash of its key; `public_id` is what pages and logs show."""

    # hash_key() of the cookie's key (64 hex digits); the key itself is only in the cookie.
    session_key = models.CharField("session key hash", max_length=64, primary_key=True)

    objects = SessionQuerySet.as_manager()

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
    # Copies of two data keys, so that staff can filter on "remember me" and
    # purge_sessions can tell which guest carts a live session still holds.
    remember = models.BooleanField(default=False)
    guest_cart_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_activity = models.DateTimeField(default=timezone.now)
    # Set on a rotated key's row: requests still carrying it are served from
    # the successor (this is its hash) until the row's short grace expiry.
    successor_key = models.CharField(max_length=64, null=True, blank=True, editable=False)
    # The successor's key sealed with the old key (accounts.sessions.store.seal):
    # only a client that holds the old key can learn the new one, during the grace.
    successor_seal = models.CharField(max_length=200, blank=True, editable=False)  # a Fernet token
    # Device Bound Session Credentials (accounts.sessions.dbsc): the public JWK
    # the browser registered for this session, and when. Nothing else about the
    # device is kept; a rotated key's row carries it on like the public id.
    device_key = models.JSONField(null=True, blank=True, editable=False)
    device_bound_at = models.DateTimeField(null=True, blank=True, editable=False)

    @classmethod
    def get_session_store_class(cls):
        from accounts.sessions.store import engine_store

        return engine_store()

    @property
    def is_guest(self) -> bool:
        return self.user_id is None

    @property
    def device_bound(self) -> bool:
        return self.device_key is not None

    def __str__(self):
        return f"{self.user or 'guest'} session {self.public_id}"


class BindingChallenge(models.Model):
    """A challenge the server issued for a DBSC proof: for one session and purpose, single-use, short-lived."""

    class Purpose(models.TextChoices):
        REGISTRATION = "registration"
        REFRESH = "refresh"

    value = models.CharField(max_length=64, unique=True)
    session_public_id = models.CharField(max_length=32)
    purpose = models.CharField(max_length=12, choices=Purpose.choices)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"{self.purpose} challenge for session {self.session_public_id}"


class AuditEvent(models.Model):
    """One security-relevant event, named after the OWASP Logging Vocabulary."""

    class Level(models.TextChoices):
        INFO = "INFO", "info"
        WARNING = "WARNING", "warning"
        CRITICAL = "CRITICAL", "critical"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    event = models.CharField(max_length=40, db_index=True)
    level = models.CharField(max_length=8, choices=Level.choices, default=Level.INFO)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    # As typed at a failed sign-in, or the user's name at the time.
    username = models.CharField(max_length=150, blank=True, db_index=True)
    session_public_id = models.CharField(max_length=32, blank=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    user_agent = models.CharField(max_length=300, blank=True)
    path = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["event", "created_at"])]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.event}"


class EmailState(models.Model):
    """Whether the user's address is confirmed, and an address change waiting for its link to be opened."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="email_state"
    )
    # The address last confirmed: the user's address is confirmed while it is this one.
    confirmed = models.EmailField(blank=True)
    # A requested new address; it becomes the user's address only once its link is opened.
    pending = models.EmailField(blank=True)
    pending_since = models.DateTimeField(null=True, blank=True)
    # The address before the last completed change: its owner's undo link puts it back.
    previous = models.EmailField(blank=True)

    def __str__(self):
        return f"email state of {self.user}"


class ThrottleCount(models.Model):
    """One counter of accounts.throttle's sketch: a fixed set of rows per scope, reused window after window."""

    scope = models.CharField(max_length=16)
    sketch_row = models.PositiveSmallIntegerField()
    bucket = models.PositiveIntegerField()
    window_start = models.BigIntegerField()  # seconds since the epoch; an older one restarts the count
    hits = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "sketch_row", "bucket"], name="throttle_counter")]
