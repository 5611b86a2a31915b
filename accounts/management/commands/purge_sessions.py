"""Delete expired sessions, abandoned guest carts, old audit records and finished background tasks, in short batches."""

import time
from contextlib import contextmanager
from datetime import timedelta
from functools import partial

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.models import AuditEvent, Session
from accounts.monitoring import audit
from cart import copies
from cart.models import Cart

# Rows a batch examines: under 20 ms of work per transaction on the bench machine
# (docs/scaling.md has the measurements).
DEFAULT_BATCH_SIZE = 10_000
# "shopdemo" in ASCII: the key of the PostgreSQL advisory lock that one purge holds.
PURGE_LOCK_ID = 0x73686F7064656D6F
# When the planner has no statistics yet, assume dense pages: smaller batches, never longer ones.
UNKNOWN_ROWS_PER_PAGE = 100
ANOTHER_PURGE_RUNNING = "Another purge_sessions is running; this one removed nothing."


def delete_in_batches(queryset, batch_size: int, on_batch=lambda deleted: None, *, forget=None) -> int:
    """Delete the rows of `queryset` `batch_size` at a time, each batch its own short transaction.

    Short transactions keep the purge from holding locks that live sessions wait
    on (Django's clearsessions deletes everything in one statement), so it is
    safe to run while the site serves traffic. A batch is one statement where the
    model allows it: DELETE ... WHERE pk IN (SELECT pk ... LIMIT n). With `forget`, the
    batch's keys are read first and handed to it (to drop what the cache keeps of them).
    """
    model = queryset.model
    deleted = 0
    while True:
        with transaction.atomic():
            batch_keys = queryset.values("pk")[:batch_size]
            if forget is not None:
                batch_keys = list(batch_keys.values_list("pk", flat=True))
                forget(batch_keys)
            _, per_model = model.objects.filter(pk__in=batch_keys).delete()
        batch = per_model.get(model._meta.label, 0)
        if not batch:
            return deleted
        deleted += batch
        on_batch(deleted)


def delete_expired_sessions(now, batch_size: int, on_batch=lambda deleted: None) -> int:
    """Delete the sessions that expired before `now`, in batches of about `batch_size` rows examined.

    On PostgreSQL the walk goes over the table's pages in physical order (a TID
    range scan per batch): sequential reads, as fast per row as clearsessions'
    single DELETE, but each batch commits on its own. Walking the expire_date
    index instead reads the heap in random order and was 5-15x slower
    (docs/scaling.md). Rows added behind the walk are live; the next purge sees
    any that expire meanwhile.
    """
    expired = Session.objects.filter(expire_date__lt=now)
    if connection.vendor != "postgresql":
        return delete_in_batches(expired, batch_size, on_batch)
    table = connection.ops.quote_name(Session._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples / NULLIF(relpages, 0), pg_relation_size(oid) / current_setting('block_size')::int"
            " FROM pg_class WHERE oid = %s::regclass",
            [Session._meta.db_table],
        )
        rows_per_page, pages = cursor.fetchone()
        if not rows_per_page or rows_per_page <= 0:  # never analysed: reltuples is -1 or 0
            rows_per_page = UNKNOWN_ROWS_PER_PAGE
        step = max(1, int(batch_size / rows_per_page))
        deleted = 0
        for first in range(0, pages, step):
            # Autocommit: the statement is its own transaction.
            cursor.execute(
                f"DELETE FROM {table} WHERE ctid >= %s::tid AND ctid < %s::tid AND expire_date < %s",
                [f"({first},0)", f"({first + step},0)", now],
            )
            deleted += cursor.rowcount
            on_batch(deleted)
    return deleted


@contextmanager
def purge_lock():
    """Hold the purge's advisory lock while the block runs; yield whether this process got it.

    Several app servers may each run purge_sessions from cron: on PostgreSQL
    the second one to start finds the lock taken and stops. SQLite needs no
    lock: it is one file on one machine, and its writers already take turns.
    """
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        # Session level, not transaction level: the purge commits many transactions.
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [PURGE_LOCK_ID])
        acquired = cursor.fetchone()[0]
        try:
            yield acquired
        finally:
            if acquired:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [PURGE_LOCK_ID])


class Command(BaseCommand):
    help = (
        "Delete expired sessions, guest carts untouched for GUEST_SESSION_AGE and no longer held by a "
        "session, audit events and axes records older than AUDIT_RETENTION_DAYS, then background tasks "
        "finished more than TASK_RETENTION_DAYS ago, in batches. "
        "On PostgreSQL only one purge runs at a time: another one started meanwhile says so and exits 0."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="rows per transaction")
        parser.add_argument("--dry-run", action="store_true", help="count what would be removed, remove nothing")

    def handle(self, *args, batch_size, dry_run, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        targets = self.targets(timezone.now())
        if dry_run:
            self.stdout.write("\n".join(f"Would remove {qs.count()} {label}." for label, qs, _ in targets))
            return
        with purge_lock() as acquired:
            if not acquired:
                self.stdout.write(ANOTHER_PURGE_RUNNING)
                return
            self.purge(targets, batch_size)

    def targets(self, now):
        """What the purge removes, in order: (label, queryset, its batched delete)."""
        retained = now - timedelta(days=settings.AUDIT_RETENTION_DAYS)
        # Untouched for as long as a guest session lives, and held by no
        # live session (a guest who keeps browsing keeps the cart).
        abandoned_carts = Cart.objects.filter(
            user__isnull=True, updated_at__lt=now - timedelta(seconds=settings.GUEST_SESSION_AGE)
        ).exclude(pk__in=Session.objects.filter(guest_cart_id__isnull=False).values("guest_cart_id"))
        querysets = [
            ("audit events", AuditEvent.objects.filter(created_at__lt=retained)),
            ("axes access attempts", AccessAttempt.objects.filter(attempt_time__lt=retained)),
            ("axes access logs", AccessLog.objects.filter(attempt_time__lt=retained)),
            ("axes failure logs", AccessFailureLog.objects.filter(attempt_time__lt=retained)),
            (
                # Sent and failed mail; what waits or runs stays, however old.
                "finished background tasks",
                DBTaskResult.objects.finished().filter(
                    finished_at__lt=now - timedelta(days=settings.TASK_RETENTION_DAYS)
                ),
            ),
        ]
        return [
            ("expired sessions", Session.objects.filter(expire_date__lt=now), partial(delete_expired_sessions, now)),
            (
                "abandoned guest carts",
                abandoned_carts,
                partial(delete_in_batches, abandoned_carts, forget=copies.carts_purged),
            ),
            *((label, qs, partial(delete_in_batches, qs)) for label, qs in querysets),
        ]

    def purge(self, targets, batch_size: int):
        # Progress lines only for a person watching; cron mail gets the summary alone.
        interactive = self.stdout.isatty()
        started = time.monotonic()
        removed = {}
        for label, _, delete in targets:

            def progress(deleted, label=label):
                if interactive:
                    self.stdout.write(f"  {label}: {deleted} removed so far")

            removed[label] = delete(batch_size, progress)
        # What /metrics and the dashboard read as the last successful purge.
        audit.record(
            "sys_purge",
            duration_seconds=round(time.monotonic() - started, 3),
            removed={label.replace(" ", "_"): count for label, count in removed.items()},
        )
        self.stdout.write("\n".join(f"Removed {count} {label}." for label, count in removed.items()))
