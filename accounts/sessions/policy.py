"""How long a session may live, computed from the timestamps the server keeps.

The cookie's own expiry never decides anything: every limit here is checked
against the session row, so a replayed cookie past its time is refused.
"""

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.template.defaultfilters import pluralize
from django.utils import timezone

# Keys the lifecycle keeps in the session data (seconds since the epoch).
AUTH_AT = "_auth_at"  # sign-in: the absolute limit counts from here
ROTATED_AT = "_rotated_at"  # last key rotation
REMEMBER = "_remember"  # "remember me" was checked at sign-in
REAUTH_AT = "_reauth_at"  # last re-authentication for critical actions
MFA_PENDING = "_mfa_pending"  # password checked, OTP step outstanding: not signed in
RESUME = "_resume"  # a critical POST held while the user re-authenticates
PASSKEY_REGISTER = "_passkey_register"  # a passkey ceremony's state (its challenge)
PASSKEY_AUTHENTICATE = "_passkey_authenticate"
# A registration whose first factor is a passkey, held until the passkey is made: no account before.
PASSKEY_SIGN_UP = "_passkey_sign_up"
# Django's set_expiry(): seconds of inactivity (0: at browser close, the
# cookie's business) or an ISO moment. It may shorten a session, never lengthen it.
REQUESTED_EXPIRY = "_session_expiry"
AUTH_METHOD = "_auth_method"  # how the sign-in was proved: a key of AUTH_METHODS
# The guest cart's id, never the cart itself (concurrent requests would
# overwrite each other's session); the engine copies it to its row for the purge.
CART_SESSION_KEY = "cart_id"
# The numbers of the orders this guest session placed: its browser may open them.
GUEST_ORDERS_SESSION_KEY = "guest_orders"

# How a session was signed in, as the devices page and the inspector say it.
PASSWORD, PASSKEY = "password", "passkey"
AUTH_METHODS = {
    PASSWORD: "password",
    "password+totp": "password + TOTP",
    "password+recovery_code": "password + recovery code",
    "password+passkey": "password + passkey",
    PASSKEY: "passkey",
}

# Why a session ended; the sign-in page turns these into a sentence.
IDLE, ABSOLUTE, HIJACK = "idle", "absolute", "hijack"
ROTATED = "rotated"  # an old key presented after its grace
UNPROVEN = "device"  # a device-bound session without its DBSC proof
REVOKED = "revoked"  # ended by another request (a sign-out elsewhere, staff) while this one ran


@dataclass(frozen=True)
class Limits:
    idle: int
    absolute: int | None  # guests have none: their session is their cart's lifetime

    @property
    def activity_granularity(self) -> int:
        """Seconds between writes of the last-activity time (at most once a minute)."""
        return max(1, min(60, self.idle // 10))


def is_authenticated(data) -> bool:
    return SESSION_KEY in data


def limits(data) -> Limits:
    if not is_authenticated(data):
        lim = Limits(idle=settings.GUEST_SESSION_AGE, absolute=None)
    elif data.get(REMEMBER):
        lim = Limits(idle=settings.SESSION_REMEMBER_IDLE, absolute=settings.SESSION_REMEMBER_ABSOLUTE)
    else:
        lim = Limits(idle=settings.SESSION_IDLE_TIMEOUT, absolute=settings.SESSION_ABSOLUTE_TIMEOUT)
    requested = data.get(REQUESTED_EXPIRY)
    if isinstance(requested, int) and 0 < requested < lim.idle:
        lim = replace(lim, idle=requested)
    return lim


def idle_deadline(data, last_activity: datetime) -> datetime:
    """When the session ends without further activity.

    Activity is recorded at most once per granularity, so the recorded time may
    lag the real one by up to that much: the deadline allows for it, and so a
    session never outlives its idle limit by more than the granularity.
    """
    lim = limits(data)
    return last_activity + timedelta(seconds=lim.idle + lim.activity_granularity)


def absolute_deadline(data) -> datetime | None:
    lim = limits(data)
    signed_in = auth_time(data)
    if lim.absolute is None or signed_in is None:
        return None
    return signed_in + timedelta(seconds=lim.absolute)


def auth_time(data) -> datetime | None:
    return datetime.fromtimestamp(data[AUTH_AT], tz=UTC) if AUTH_AT in data else None


def expiry(data, last_activity: datetime) -> datetime:
    """The moment the server stops accepting this session: the earlier of both limits."""
    deadlines = [idle_deadline(data, last_activity), absolute_deadline(data)]
    requested = data.get(REQUESTED_EXPIRY)
    if isinstance(requested, str):
        deadlines.append(datetime.fromisoformat(requested))
    elif isinstance(requested, int) and requested < 0:  # Django's set_expiry(-n): expired n seconds ago
        deadlines.append(last_activity + timedelta(seconds=requested))
    return min(d for d in deadlines if d is not None)


def end_reason(data, now: datetime) -> str:
    absolute = absolute_deadline(data)
    return ABSOLUTE if absolute and now >= absolute else IDLE


# -- the keys above, written only here --------------------------------------


def mark_signed_in(session) -> None:
    """Whatever signed the user in (shop, admin), the absolute limit counts from now."""
    session[AUTH_AT] = timezone.now().timestamp()


def mark_remember(session, remember: bool) -> None:
    """Choose the limits for "remember me"; the cookie then only decides whether the browser keeps it."""
    session[REMEMBER] = remember
    session.set_expiry(settings.SESSION_REMEMBER_IDLE if remember else 0)


def mark_auth_method(session, method: str) -> None:
    session[AUTH_METHOD] = method


def auth_method_text(data) -> str | None:
    """How the session in `data` was signed in, e.g. "password + TOTP"; None for a guest or an older session."""
    return AUTH_METHODS.get(data.get(AUTH_METHOD)) if is_authenticated(data) else None


def mark_reauthenticated(session) -> None:
    session[REAUTH_AT] = timezone.now().timestamp()


def mark_rotated(session) -> None:
    """Every new key (rotation, sign-in, password change) restarts the rotation timer."""
    session[ROTATED_AT] = timezone.now().timestamp()


def rotation_due(data, now: datetime) -> bool:
    if not is_authenticated(data):
        return False
    return now.timestamp() - data.get(ROTATED_AT, 0) >= settings.SESSION_ROTATE_INTERVAL


def until_text(seconds: int) -> str:
    """Say how far off a deadline is, rounded down: 'in 14 days', 'in 3 hours', 'in under a minute'."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"in {count} {unit}{pluralize(count)}"
    return "in under a minute" if seconds > 0 else "now"


def duration_text(seconds: int) -> str:
    """Say a limit the way people do: '30 minutes', '12 hours', '14 days'."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{pluralize(count)}"
    return f"{seconds} second{pluralize(seconds)}"
