"""Delete expired sessions, abandoned guest carts and old audit records, in short batches."""

from datetime import timedelta

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import AuditEvent, Session
from cart.models import Cart

DEFAULT_BATCH_SIZE = 5000


def delete_in_batches(queryset, batch_size: int, on_batch=lambda deleted: None) -> int:
    """Delete the rows of `queryset` `batch_size` at a time, each batch its own short transaction.

    Short transactions keep the purge from holding locks that live sessions wait
    on (Django's clearsessions deletes everything in one statement), so it is
    safe to run while the site serves traffic. A batch is one statement where the
    model allows it: DELETE ... WHERE pk IN (SELECT pk ... LIMIT n).
    """
    model = queryset.model
    deleted = 0
    while True:
        with transaction.atomic():
            _, per_model = model.objects.filter(pk__in=queryset.values("pk")[:batch_size]).delete()
        batch = per_model.get(model._meta.label, 0)
        if not batch:
            return deleted
        deleted += batch
        on_batch(deleted)


class Command(BaseCommand):
    help = (
        "Delete expired sessions, guest carts untouched for GUEST_SESSION_AGE and no longer held by a "
        "session, then audit events and axes records older than AUDIT_RETENTION_DAYS, in batches."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="rows per transaction")
        parser.add_argument("--dry-run", action="store_true", help="count what would be removed, remove nothing")

    def handle(self, *args, batch_size, dry_run, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        now = timezone.now()
        retained = now - timedelta(days=settings.AUDIT_RETENTION_DAYS)
        targets = [
            ("expired sessions", Session.objects.filter(expire_date__lt=now)),
            (
                "abandoned guest carts",
                # Untouched for as long as a guest session lives, and held by no
                # live session (a guest who keeps browsing keeps the cart).
                Cart.objects.filter(
                    user__isnull=True, updated_at__lt=now - timedelta(seconds=settings.GUEST_SESSION_AGE)
                ).exclude(pk__in=Session.objects.filter(guest_cart_id__isnull=False).values("guest_cart_id")),
            ),
            ("audit events", AuditEvent.objects.filter(created_at__lt=retained)),
            ("axes access attempts", AccessAttempt.objects.filter(attempt_time__lt=retained)),
            ("axes access logs", AccessLog.objects.filter(attempt_time__lt=retained)),
            ("axes failure logs", AccessFailureLog.objects.filter(attempt_time__lt=retained)),
        ]
        # Progress lines only for a person watching; cron mail gets the summary alone.
        interactive = self.stdout.isatty()
        summary = []
        for label, queryset in targets:
            if dry_run:
                summary.append(f"Would remove {queryset.count()} {label}.")
                continue

            def progress(deleted, label=label):
                if interactive:
                    self.stdout.write(f"  {label}: {deleted} removed so far")

            summary.append(f"Removed {delete_in_batches(queryset, batch_size, progress)} {label}.")
        self.stdout.write("\n".join(summary))
