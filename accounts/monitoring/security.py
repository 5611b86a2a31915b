"""What happened to a session or sign-in: record it, apply the detection rules, alert.

Each rule is documented in docs/security.md with its setting. Alerts are throttled
to one mail per rule and subject per ALERT_THROTTLE_SECONDS, so an attack
cannot flood a mailbox. Nothing here may break the request it describes.
"""

import functools
import hashlib
import logging
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.mail import mail_admins
from django.db import DatabaseError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.devices import describe
from accounts.ip import client_ip
from accounts.models import AuditEvent
from accounts.monitoring import audit
from shopdemo.mail import mail_send

logger = logging.getLogger("shopdemo.security")

# Addresses whose unknown session IDs get a tally row of their own each window;
# beyond that, one shared row: a distributed flood cannot fill the disk either.
GUESSING_ROWS = 100

SUCCESS_EVENTS = ["authn_login_success", "authn_login_successafterfail"]


def never_breaks(check):
    """Run a recording/detection step in a savepoint; a failure is logged, the request goes on."""

    @functools.wraps(check)
    def guarded(*args, **kwargs):
        try:
            with transaction.atomic():
                return check(*args, **kwargs)
        except DatabaseError:
            logger.exception("security_check_failed", extra={"check": check.__name__})
            return None

    return guarded


def _mail(subject: str, body: str, recipients=None) -> None:
    """Send a mail (to ADMINS when no recipients); a broken mail relay must not break the request."""
    if recipients is not None:
        # To a user: plain text and HTML from templates/mail/, like every mail to shoppers.
        mail_send(to=recipients, subject=subject, template="notice", context={"body": body})
        return
    try:
        mail_admins(subject, body)
    except Exception:  # smtplib and socket errors alike: log them, go on
        logger.exception("mail_failed", extra={"subject": subject})


def alert(rule: str, about: str, subject: str, message: str, *, request=None, user=None) -> bool:
    """Mail an alert (to `user`, else to ADMINS) unless one for this rule and `about` went out lately.

    `about` names what the alert concerns (an account, an address), not how
    bad it is, so that a growing attack does not mail again and again.
    """
    # Hashed: `about` carries user-supplied text, unfit for a cache key as it is.
    key = "alert:" + hashlib.sha256(f"{rule}\n{about}".encode()).hexdigest()
    # add() is False when the key exists; None when the cache is down, and an
    # outage must not silence alerts.
    if cache.add(key, True, timeout=settings.ALERT_THROTTLE_SECONDS) is False:
        return False
    audit.record("security_alert", request=request, rule=rule, subject=subject)
    _mail(subject, message, [user.email] if user is not None else None)
    return True


@never_breaks
def record_sign_in(*, request, user, method: str) -> None:
    """Record a sign-in proved by `method` (a key of AUTH_METHODS); flag one after failures, tell of a new device."""
    events = AuditEvent.objects.filter(username=user.get_username())
    last_success = events.filter(event__in=SUCCESS_EVENTS).values_list("created_at", flat=True).first()
    failures = events.filter(event="authn_login_fail")
    if last_success:
        failures = failures.filter(created_at__gt=last_success)
    device = describe(request.META.get("HTTP_USER_AGENT", ""), with_version=False)
    event = "authn_login_successafterfail" if failures.exists() else "authn_login_success"
    known_device = events.filter(event__in=SUCCESS_EVENTS, details__device=device).exists()
    audit.record(event, request=request, user=user, device=device, method=method)
    if last_success and not known_device:
        audit.record("authn_new_device", request=request, user=user, device=device)
        devices_url = request.build_absolute_uri(reverse("accounts:sessions"))
        alert(
            "new_device",
            f"{user.pk}\n{device}",
            f"New sign-in to your account ({device})",
            f"Your shopdemo account {user.get_username()} was just signed in to from {device} "
            f"at address {client_ip(request)}.\n\nWas this you? If not, sign that session out "
            f"and change your password: {devices_url}",
            request=request,
            user=user,
        )


@never_breaks
def record_login_failure(*, request, username: str, **details) -> None:
    """Record a failed sign-in; alert when one account fails from many addresses (no lockout)."""
    audit.record("authn_login_fail", request=request, username=username, **details)
    since = timezone.now() - timedelta(seconds=settings.DISTRIBUTED_WINDOW_SECONDS)
    addresses = (
        AuditEvent.objects.filter(event="authn_login_fail", username=username, created_at__gte=since)
        .values("ip")
        .distinct()
        .count()
    )
    if addresses >= settings.DISTRIBUTED_IP_THRESHOLD:
        alert(
            "distributed_brute_force",
            username,
            f"Failed sign-ins for {username!r} from {addresses} addresses",
            f"The account {username!r} had failed sign-ins from {addresses} addresses in "
            f"{settings.DISTRIBUTED_WINDOW_SECONDS} seconds. The account is not locked (that would "
            "let an attacker lock the owner out); consider resetting its password.",
            request=request,
        )


@never_breaks
def record_lockout(*, request, username: str) -> None:
    audit.record("authn_login_lock", request=request, username=username)
    alert(
        "lockout",
        f"{username}\n{client_ip(request)}",
        f"Sign-in locked for {username!r} from {client_ip(request)}",
        f"django-axes locked sign-in for {username!r} from {client_ip(request)} after "
        f"{settings.AXES_FAILURE_LIMIT} failures.",
        request=request,
    )


# How each hijack reason reads in an alert ("Session of alice presented ...").
HIJACK_PHRASES = {
    "browser": "by another browser",
    "address": "from another address",
    "device binding": "without its device-bound cookie (DBSC)",
}


@never_breaks
def record_hijack(*, request, row, reason: str) -> None:
    """Record a signed-in session presented by another browser or address, or without its DBSC proof (now ended)."""
    audit.record(
        "session_hijack_suspected",
        request=request,
        user=row.user,
        public_id=row.public_id,
        reason=reason,
        expected_user_agent=row.user_agent,
        expected_ip=row.ip,
    )
    alert(
        "hijack",
        str(row.user_id),
        f"Session of {row.user} presented {HIJACK_PHRASES[reason]}",
        f"A signed-in session of {row.user} was presented {HIJACK_PHRASES[reason]} "
        f"({client_ip(request)}); it has been ended.",
        request=request,
    )


@never_breaks
def record_use_after_expire(*, request, known: bool, **details) -> None:
    """Record a session ID that is unknown or past its time; alert on a burst from one address (guessing).

    A known session's row is deleted when it is presented after its time, so
    those are recorded one by one. Unknown IDs cost a client nothing to send:
    they are tallied per address and window (audit.tally), so a flood writes
    a bounded number of rows.
    """
    ip = client_ip(request)
    window = settings.GUESSING_WINDOW_SECONDS
    window_start = audit.window_start(window)
    event = "session_use_after_expire"
    if known:
        audit.record(event, request=request, known=True, **details)
        unknown = AuditEvent.objects.filter(event=event, ip=ip, created_at=window_start).first()
        unknown = unknown.details.get("count", 0) if unknown else 0
    else:
        unknown = audit.tally(event, request=request, window_start=window_start, max_rows=GUESSING_ROWS, known=False)
    known_ones = AuditEvent.objects.filter(event=event, ip=ip, created_at__gt=window_start).count()
    burst = unknown + known_ones
    if burst >= settings.GUESSING_THRESHOLD:
        alert(
            "session_guessing",
            ip,
            f"Burst of unknown session IDs from {ip}",
            f"{burst} requests from {ip} presented unknown or expired session IDs within {window} seconds.",
            request=request,
        )


def notify_user(*, user, subject: str, body: str, extra_to=()) -> None:
    """Tell the user by mail that a security setting changed, and what to do if it was not them."""
    recipients = [address for address in {user.email, *extra_to} if address]
    _mail(subject, f"{body}\n\nIf this was not you, sign in and change your password at once.", recipients)
