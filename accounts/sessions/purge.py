"""Deleting what has outlived its use, in short transactions, one purge at a time.

The engine's `clear_expired()` (and so Django's `clearsessions`), the abandoned-cart
rule (`cart.services.cart_purge_abandoned`) and the audit retention
(`accounts.monitoring.audit.purge_past_retention`) all delete through here;
`purge_sessions` runs the three in order under `purge_lock()`.
"""

from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection, transaction

from accounts.models import Session

# Rows a batch examines: under 20 ms of work per transaction on the bench machine
# (docs/scaling.md has the measurements).
DEFAULT_BATCH_SIZE = 10_000
# "shopdemo" in ASCII: the key of the PostgreSQL advisory lock that one purge holds.
PURGE_LOCK_ID = 0x73686F7064656D6F
# When the planner has no statistics yet, assume dense pages: smaller batches, never longer ones.
UNKNOWN_ROWS_PER_PAGE = 100


def no_progress(deleted: int) -> None:
    """The default `on_batch`: nobody is watching."""


def delete_in_batches(queryset, batch_size: int = DEFAULT_BATCH_SIZE, on_batch=no_progress) -> int:
    """Delete the rows of `queryset` `batch_size` at a time, each batch its own short transaction.

    Short transactions keep the purge from holding locks that live requests wait
    on, so it is safe to run while the site serves traffic. A batch is one
    statement where the model allows it: DELETE ... WHERE pk IN (SELECT pk ... LIMIT n).
    `on_batch` gets the running total after each batch.
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


def expired_sessions(now):
    """The session rows whose deadline passed before `now` (old keys past their grace included)."""
    return Session.objects.filter(expire_date__lt=now)


def delete_expired_sessions(now, batch_size: int = DEFAULT_BATCH_SIZE, on_batch=no_progress) -> int:
    """Delete the sessions that expired before `now`, in batches of about `batch_size` rows examined.

    On PostgreSQL the walk goes over the table's pages in physical order (a TID
    range scan per batch): sequential reads, as fast per row as one DELETE of
    everything, but each batch commits on its own. Walking the expire_date
    index instead reads the heap in random order and was 5-15x slower
    (docs/scaling.md). Rows added behind the walk are live; the next purge sees
    any that expire meanwhile.
    """
    if connection.vendor != "postgresql":
        return delete_in_batches(expired_sessions(now), batch_size, on_batch)
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

    Several app servers may each run purge_sessions (or clearsessions) from cron:
    on PostgreSQL the second one to start finds the lock taken and stops. The lock
    is re-entrant within one connection, so a purge that holds it may call code
    that takes it again. SQLite needs no lock: it is one file on one machine, and
    its writers already take turns.
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


@dataclass
class PurgeSummary:
    """What one purge removed: rows by kind, in the order removed, and how long it took."""

    removed: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.removed.values())

    def lines(self) -> list[str]:
        return [f"Removed {count} {label}." for label, count in self.removed.items()]
