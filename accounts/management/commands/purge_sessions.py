"""Delete expired sessions, abandoned guest carts and old audit records, in short batches.

The rules live with what they delete: the engine's clear_expired(), the cart's
cart_purge_abandoned(), the audit trail's purge_past_retention(). This command runs
them in that order under the purge's lock and says what they removed.
"""

import time
from functools import partial

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.monitoring import audit
from accounts.sessions.purge import DEFAULT_BATCH_SIZE, PurgeSummary, expired_sessions, purge_lock
from accounts.sessions.store import engine_store
from cart.services import cart_purge_abandoned, carts_abandoned

ANOTHER_PURGE_RUNNING = "Another purge_sessions is running; this one removed nothing."


class Command(BaseCommand):
    help = (
        "Delete expired sessions, guest carts untouched for GUEST_SESSION_AGE and no longer held by a "
        "session, then audit events and axes records older than AUDIT_RETENTION_DAYS, in batches. "
        "On PostgreSQL only one purge runs at a time: another one started meanwhile says so and exits 0."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="rows per transaction")
        parser.add_argument("--dry-run", action="store_true", help="count what would be removed, remove nothing")

    def handle(self, *args, batch_size, dry_run, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        now = timezone.now()
        if dry_run:
            counts = {
                "expired sessions": expired_sessions(now).count(),
                "abandoned guest carts": carts_abandoned(now=now).count(),
                **{kind: rows.count() for kind, rows in audit.past_retention(now).items()},
            }
            self.stdout.write("\n".join(f"Would remove {count} {kind}." for kind, count in counts.items()))
            return
        with purge_lock() as acquired:
            if not acquired:
                self.stdout.write(ANOTHER_PURGE_RUNNING)
                return
            summary = self.purge(now, batch_size)
        self.stdout.write("\n".join(summary.lines()))

    def purge(self, now, batch_size: int) -> PurgeSummary:
        """Run the three purges in order; what each removed is the summary."""
        started = time.monotonic()
        summary = PurgeSummary()
        summary.removed["expired sessions"] = engine_store().clear_expired(
            now=now, batch_size=batch_size, on_batch=partial(self.progress, "expired sessions")
        )
        summary.removed["abandoned guest carts"] = cart_purge_abandoned(
            now=now, batch_size=batch_size, on_batch=partial(self.progress, "abandoned guest carts")
        )
        summary.removed.update(audit.purge_past_retention(now=now, batch_size=batch_size, on_batch=self.progress))
        summary.seconds = time.monotonic() - started
        return summary

    def progress(self, kind: str, deleted: int) -> None:
        # Progress lines only for a person watching; cron mail gets the summary alone.
        if self.stdout.isatty():
            self.stdout.write(f"  {kind}: {deleted} removed so far")
