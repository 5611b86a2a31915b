"""Mail to shoppers and staff: plain text plus HTML from templates/mail/, through EMAIL_URL.

Every mail is a background task (Django's Tasks API, docs/operations.md):
the flow that causes it enqueues it, in the same database transaction, and
`manage.py db_worker` sends it. A request never waits for the relay, a
server killed after answering loses no mail, and a relay that is down gets
the mail again later: RETRY_DELAYS apart, then the task is recorded as
failed and `undelivered` tells staff (docs/operations.md).

Task arguments are stored in the clear and shown to staff in the admin, so
they carry ids, addresses and the origin for links, never a link with a
token: the worker builds links when it sends.
"""

import functools
import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mail_admins
from django.dispatch import Signal
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.log import AdminEmailHandler

# The one import of the Tasks API. Django 6 ships it as django.tasks:
# from django.tasks import task
from django_tasks import task

logger = logging.getLogger("shopdemo.mail")

# Waits after the first, second and third failed attempt; the fourth failure is final.
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))

# Sent (in the worker) with `task_name` when a mail task's last attempt has failed.
undelivered = Signal()


def mail_send(*, to: list[str], subject: str, template: str, context: dict, from_email: str | None = None) -> bool:
    """Send mail/<template>.txt and .html to `to`; False when there is nobody to send to. Relay errors raise.

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
    message.send()
    return True


def mail_task(function=None, *, tell_staff_when_undelivered: bool = True):
    """Make `function` (module level, JSON arguments) a task that is retried RETRY_DELAYS apart when it fails.

    Each failed attempt is a task row of its own, FAILED with its traceback,
    and names the attempt in its `attempt` argument; the retry is a new row
    that waits until its time. After the last attempt `undelivered` is sent,
    except for the mail that tells staff (else a dead relay would have it
    report itself for ever).
    """
    if function is None:
        return functools.partial(mail_task, tell_staff_when_undelivered=tell_staff_when_undelivered)

    @functools.wraps(function)
    def attempt_delivery(*args, attempt: int = 0, **kwargs):
        try:
            function(*args, **kwargs)
        except Exception:
            # A backend that cannot defer (the immediate one, in tests) gets one attempt.
            if attempt < len(RETRY_DELAYS) and background.get_backend().supports_defer:
                retry = background.using(run_after=timezone.now() + RETRY_DELAYS[attempt])
                retry.enqueue(*args, attempt=attempt + 1, **kwargs)
                logger.warning("mail_retry_scheduled", extra={"task": function.__name__, "attempt": attempt + 1})
            else:
                logger.error("mail_undelivered", extra={"task": function.__name__, "attempts": attempt + 1})
                if tell_staff_when_undelivered:
                    undelivered.send(mail_task, task_name=function.__name__)
            raise  # this attempt's row records the failure and its traceback

    background = task(attempt_delivery)
    return background


# Not about itself: when the relay is down, this mail fails too, and saying so by mail would never end.
@mail_task(tell_staff_when_undelivered=False)
def mail_staff(*, subject: str, body: str) -> None:
    """Mail ADMINS (Django's mail_admins: the subject prefix, SERVER_EMAIL as the sender)."""
    mail_admins(subject, body, fail_silently=False)


def queue_mail_to_staff(*, subject: str, body: str) -> None:
    """Queue a mail to ADMINS, if there are any."""
    if settings.ADMINS:
        mail_staff.enqueue(subject=subject, body=body)


class QueuedAdminEmailHandler(AdminEmailHandler):
    """Django's error mail to ADMINS (a 500's traceback), queued like every mail: no web process sends mail."""

    def emit(self, record):
        try:
            super().emit(record)
        except Exception:  # the database that holds the queue may be what failed: the response must still go out
            self.handleError(record)

    def send_mail(self, subject, message, *args, **kwargs):
        queue_mail_to_staff(subject=subject, body=message)


def tasks_finished_before(now):
    """Sent and failed mail past TASK_RETENTION_DAYS (purge_sessions removes them); what waits or runs stays."""
    # Imported here: LOGGING loads this module (its mail_admins handler) before the apps are ready.
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.finished().filter(finished_at__lt=now - timedelta(days=settings.TASK_RETENTION_DAYS))
