"""Mail to shoppers: plain text plus HTML from templates/mail/, through EMAIL_URL.

A mail that cannot be sent is logged and the request goes on: no flow may
fail, and no order be lost, because the mail relay is down.
"""

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import close_old_connections
from django.template.loader import render_to_string

logger = logging.getLogger("shopdemo.mail")

_after_response: ContextVar[list[Callable[[], None]] | None] = ContextVar("after_response", default=None)
# One thread per process sends what requests held back, in order. Not the request's own
# thread: under gunicorn's gthread worker a kept-alive connection waits for its thread,
# so a slow relay would show in the *next* request's time. Interpreter exit waits for it.
_background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="after-response")


def mail_send(*, to: list[str], subject: str, template: str, context: dict, from_email: str | None = None) -> bool:
    """Send mail/<template>.txt and .html to `to`; return whether it went out (a failure is logged).

    It comes from DEFAULT_FROM_EMAIL unless `from_email` names another sender.
    """
    recipients = [address for address in to if address]
    if not recipients:
        return False
    context = {**context, "subject": subject}
    message = EmailMultiAlternatives(
        settings.EMAIL_SUBJECT_PREFIX + subject,
        render_to_string(f"mail/{template}.txt", context),
        from_email,
        recipients,
    )
    message.attach_alternative(render_to_string(f"mail/{template}.html", context), "text/html")
    try:
        message.send()
    except Exception:  # smtplib and socket errors alike: log them, go on
        logger.exception("mail_failed", extra={"template": template})
        return False
    return True


def after_response(callback: Callable[[], None]) -> None:
    """Run `callback` once the response has been sent (Django's request_finished), in the background.

    What the visitor waits for then cannot depend on whether a mail is sent:
    the password-reset page answers in the same time for a known and an
    unknown address. Outside a request (a command, a direct test call) it runs at once.
    """
    pending = _after_response.get()
    if pending is None:
        callback()
    else:
        pending.append(callback)


def after_response_open() -> None:
    """Start holding callbacks: a request has begun."""
    _after_response.set([])


def after_response_run() -> None:
    """Hand the callbacks held during the request just answered to the background thread."""
    pending = _after_response.get() or []
    _after_response.set(None)
    for callback in pending:
        _submit(callback)


def _submit(callback: Callable[[], None]) -> None:
    _background.submit(_in_background, callback)


def _in_background(callback: Callable[[], None]) -> None:
    close_old_connections()  # the thread's own connection, kept within CONN_MAX_AGE like a request's
    try:
        _run_logged(callback)
    finally:
        close_old_connections()


def _run_logged(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:  # the response is gone: nobody else could report it
        logger.exception("after_response_failed")
