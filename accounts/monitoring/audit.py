"""The audit trail: every session and sign-in event, as a JSON log line and a table row.

Event names follow the OWASP Logging Vocabulary. Recording must never break
the request it describes: a failing write is itself logged, and the request
goes on.
"""

import json
import logging
from datetime import UTC, datetime, timedelta

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from accounts.ip import client_ip
from accounts.models import AuditEvent
from accounts.monitoring import counters
from accounts.monitoring.redact import redact
from accounts.sessions.purge import DEFAULT_BATCH_SIZE, delete_in_batches

logger = logging.getLogger("shopdemo.audit")

USER_AGENT_MAX_LENGTH = AuditEvent._meta.get_field("user_agent").max_length
PATH_MAX_LENGTH = AuditEvent._meta.get_field("path").max_length
USERNAME_MAX_LENGTH = AuditEvent._meta.get_field("username").max_length

LEVELS = {"INFO": logging.INFO, "WARNING": logging.WARNING, "CRITICAL": logging.CRITICAL}

# The vocabulary used here, with the level each is recorded at.
EVENTS = {
    "authn_login_success": "INFO",
    "authn_login_successafterfail": "INFO",
    "authn_login_fail": "WARNING",
    "authn_login_lock": "WARNING",
    "authn_password_change": "INFO",
    "authn_reauthenticated": "INFO",
    "authn_mfa_change": "INFO",
    "authn_mfa_change_fail": "WARNING",
    "authn_email_change": "INFO",
    "authn_email_link_sent": "INFO",
    "authn_email_confirmed": "INFO",
    "authn_email_cancelled": "INFO",
    "authn_email_change_undone": "WARNING",
    "authn_reset_request": "INFO",
    "authn_register_attempt": "INFO",  # tallied per address and hour (accounts.flows.account)
    "authn_register_throttled": "WARNING",
    "authn_register_fail": "WARNING",  # a passwordless registration whose passkey was refused: no account
    "authn_reset_throttled": "WARNING",
    "authn_password_reset": "INFO",
    "account_deleted": "INFO",
    "order_placed": "INFO",  # details: the order's number, whether a guest placed it
    "order_guest_throttled": "WARNING",  # GUEST_ORDERS_PER_IP_PER_HOUR reached from one address
    "orders_claimed": "INFO",  # guest orders an account took: placed in its browser, or its address confirmed
    "authn_new_device": "INFO",
    "session_created": "INFO",
    "session_renewed": "INFO",
    "session_expired": "INFO",
    "session_use_after_expire": "WARNING",
    "session_logout": "INFO",
    "session_ip_changed": "INFO",
    "session_hijack_suspected": "CRITICAL",
    "session_device_bound": "INFO",  # DBSC: the browser registered a key for the session
    "session_binding_failed": "WARNING",  # DBSC: a registration or refresh proof was refused
    "authz_fail": "WARNING",
    "malicious_csrf": "WARNING",
    "security_alert": "CRITICAL",
    "sys_purge": "INFO",  # purge_sessions finished: how long it took, what it removed
}
# Every name exported at 0 from the start: a rate over a series that appears
# with its first event would miss that event.
for _event in EVENTS:
    counters.AUTH_EVENTS.labels(_event)


def record(event: str, *, request=None, user=None, username: str = "", public_id: str = "", **details) -> None:
    """Record `event` about `request`'s visitor (or the given user/session) to the log and the table."""
    session = getattr(request, "session", None)
    if user is None and request is not None and getattr(request, "user", None) is not None:
        user = request.user if request.user.is_authenticated else None
    fields = {
        "event": event,
        "user": username or (user.get_username() if user else ""),
        "session": public_id or (session.public_id if session is not None and session.session_key else ""),
        "ip": client_ip(request) if request is not None else None,
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX_LENGTH] if request is not None else "",
        # An emailed link's token must not outlive the link in the trail.
        "path": redact(request.path)[:PATH_MAX_LENGTH] if request is not None else "",
        "details": details,
    }
    _log(event, fields)
    counters.AUTH_EVENTS.labels(event).inc()
    try:
        with transaction.atomic():
            AuditEvent.objects.create(created_at=timezone.now(), user=user, **_row(event, fields))
    except DatabaseError:
        logger.exception("audit_write_failed", extra={"event": event})


def _log(event: str, fields: dict) -> None:
    # JSON mode puts every field in the line; text mode appends them JSON-encoded.
    # Either way user-supplied text is escaped, so a newline cannot forge a line (V16.4.1).
    message = event if settings.LOG_FORMAT == "json" else f"{event} {json.dumps(fields, default=str)}"
    logger.log(LEVELS[EVENTS[event]], message, extra=fields)


def _row(event: str, fields: dict) -> dict:
    return {
        "event": event,
        "level": EVENTS[event],
        "username": fields["user"][:USERNAME_MAX_LENGTH],
        "session_public_id": fields["session"],
        "ip": fields["ip"] or None,
        "user_agent": fields["user_agent"],
        "path": fields["path"],
        "details": fields["details"],
    }


def window_start(seconds: int):
    """The start of the fixed window of `seconds` that now falls in (what tally() rows are keyed by)."""
    return datetime.fromtimestamp(timezone.now().timestamp() // seconds * seconds, tz=UTC)


def tally(event: str, *, request, window_start, max_rows: int, **details) -> int:
    """Count `event` from the request's address in one row per address and window; return the count.

    For what an unauthenticated client can repeat at will (presenting made-up
    session IDs): a flood then writes one row per address and window, and at
    most `max_rows` addresses a window get their own; the rest share one row
    without an address. Only the first of each row is logged.
    """
    ip = client_ip(request)
    counters.AUTH_EVENTS.labels(event).inc()  # each one, though a row counts many
    rows = AuditEvent.objects.select_for_update().filter(event=event, created_at=window_start)
    try:
        with transaction.atomic():
            row = rows.filter(ip=ip).first()
            if row is None and rows.values("ip").distinct().count() >= max_rows:
                ip = None
                row = rows.filter(ip__isnull=True).first()
            if row is not None:
                row.details["count"] += 1
                row.save(update_fields=["details"])
                return row.details["count"]
            fields = {
                "event": event,
                "user": "",
                "session": "",
                "ip": ip,
                "user_agent": request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX_LENGTH],
                "path": redact(request.path)[:PATH_MAX_LENGTH],
                "details": {**details, "count": 1},
            }
            AuditEvent.objects.create(created_at=window_start, **_row(event, fields))
            _log(event, fields)
            return 1
    except DatabaseError:
        logger.exception("audit_write_failed", extra={"event": event})
        return 0


def past_retention(now) -> dict:
    """The audit trail's and django-axes' records older than AUDIT_RETENTION_DAYS, by kind.

    The retention is also the memory of the new-device rule: a browser unused for
    that long counts as new again. Lockouts last minutes, so axes loses history only.
    """
    retained = now - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    return {
        "audit events": AuditEvent.objects.filter(created_at__lt=retained),
        "axes access attempts": AccessAttempt.objects.filter(attempt_time__lt=retained),
        "axes access logs": AccessLog.objects.filter(attempt_time__lt=retained),
        "axes failure logs": AccessFailureLog.objects.filter(attempt_time__lt=retained),
    }


def purge_past_retention(*, now, batch_size: int = DEFAULT_BATCH_SIZE, on_batch=lambda kind, deleted: None) -> dict:
    """Delete the records past retention in short batches; return {kind: rows removed}.

    `on_batch(kind, running total)` follows each batch.
    """
    return {
        kind: delete_in_batches(rows, batch_size, lambda deleted, kind=kind: on_batch(kind, deleted))
        for kind, rows in past_retention(now).items()
    }
