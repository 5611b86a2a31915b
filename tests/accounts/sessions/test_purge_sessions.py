"""purge_sessions: expired sessions, abandoned guest carts and old audit records, in batches.

Django's clearsessions runs the engine's clear_expired(), the same batched walk.
"""

import secrets
from io import StringIO

import pytest
from axes.models import AccessAttempt, AccessLog
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.models import AuditEvent, Session
from accounts.monitoring.security import mail_notice
from accounts.sessions.purge import DEFAULT_BATCH_SIZE
from accounts.sessions.store import SessionStore
from cart.models import Cart
from tests.factories import CartFactory, CartItemFactory, SessionFactory, UserFactory

pytestmark = pytest.mark.django_db

DAY = timezone.timedelta(days=1)


def run(*args):
    out = StringIO()
    call_command("purge_sessions", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def expired_and_live():
    expired = [SessionFactory(expire_date=timezone.now() - DAY) for _ in range(7)]
    live = SessionFactory()
    return expired, live


def test_deletes_expired_sessions_and_says_how_many(expired_and_live):
    _, live = expired_and_live
    assert "Removed 7 expired sessions." in run()
    assert list(Session.objects.all()) == [live]


def session_deletes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith('DELETE FROM "accounts_session"')]


def assert_bounded_batches(deletes, *, batch_size: int, rows: int) -> None:
    if connection.vendor == "postgresql":
        # A walk over the table's pages: each statement bounded by a page range.
        assert deletes and all("ctid >= '(" in sql and "AND ctid < '(" in sql for sql in deletes)
    else:
        # Full batches, the rest, then one that finds none: each a single bounded statement.
        assert len(deletes) == rows // batch_size + (1 if rows % batch_size else 0) + 1
        assert all(sql.endswith(f"LIMIT {batch_size})") for sql in deletes)


def test_batches_are_separate_statements(expired_and_live):
    with CaptureQueriesContext(connection) as queries:
        run("--batch-size", "3")
    assert_bounded_batches(session_deletes(queries), batch_size=3, rows=7)
    assert Session.objects.count() == 1


def test_djangos_clearsessions_deletes_in_the_engines_batches(expired_and_live):
    _, live = expired_and_live
    with CaptureQueriesContext(connection) as queries:
        call_command("clearsessions")
    assert_bounded_batches(session_deletes(queries), batch_size=DEFAULT_BATCH_SIZE, rows=7)
    assert list(Session.objects.all()) == [live]


def test_clear_expired_says_how_many_and_reports_each_batch(expired_and_live):
    totals = []
    assert SessionStore.clear_expired(batch_size=3, on_batch=totals.append) == 7
    if connection.vendor != "postgresql":  # the page walk reports per page range instead
        assert totals == [3, 6, 7]
    assert totals[-1] == 7


def purge_with_command(batch_size: int) -> int:
    output = run("--batch-size", str(batch_size))
    return int(output.split("Removed ")[1].split()[0])


def purge_with_engine(batch_size: int) -> int:
    return SessionStore.clear_expired(batch_size=batch_size)


@pytest.mark.postgres
@pytest.mark.parametrize("purge", [purge_with_command, purge_with_engine], ids=["purge_sessions", "clear_expired"])
def test_the_page_walk_covers_every_page_and_spares_live_rows(purge):
    # Rows of ~1.8 kB of incompressible data (under the 2 kB at which PostgreSQL would
    # move it out of the page): four per 8 kB page, so the walk has many pages to cover.
    padding = lambda: secrets.token_urlsafe(1200)  # noqa: E731
    expired = [SessionFactory(expire_date=timezone.now() - DAY, session_data=padding()) for _ in range(30)]
    live = [SessionFactory(session_data=padding()) for _ in range(10)]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_session")
    with CaptureQueriesContext(connection) as queries:
        assert purge(2) == len(expired)
    assert len(session_deletes(queries)) >= 10
    assert set(Session.objects.all()) == set(live)


def test_dry_run_counts_and_removes_nothing(expired_and_live):
    output = run("--dry-run")
    assert "Would remove 7 expired sessions." in output
    assert Session.objects.count() == 8


def test_abandoned_guest_carts_go_but_recent_and_account_carts_stay(time_machine, settings):
    time_machine.move_to(timezone.now(), tick=False)
    old_guest = CartItemFactory().cart
    account_cart = CartFactory(user=UserFactory())
    time_machine.shift(settings.GUEST_SESSION_AGE + 60)
    recent_guest = CartFactory()
    assert "Removed 1 abandoned guest carts." in run()
    assert set(Cart.objects.all()) == {account_cart, recent_guest}
    assert not Cart.objects.filter(pk=old_guest.pk).exists()


def test_bad_batch_size_is_refused():
    with pytest.raises(CommandError, match="at least 1"):
        run("--batch-size", "0")


def test_an_old_guest_cart_held_by_a_live_session_stays(client, product, time_machine, settings):
    time_machine.move_to(timezone.now(), tick=False)
    client.post("/cart/add/", {"product": product.pk})
    for _ in range(3):  # the guest keeps browsing; the cart itself is not touched
        time_machine.shift(settings.GUEST_SESSION_AGE // 2)
        client.get("/cart/")
    assert "Removed 0 abandoned guest carts." in run()
    assert client.get("/cart/summary/").json()["count"] == 1


class TerminalOutput(StringIO):
    def isatty(self):
        return True


def test_old_audit_events_and_axes_records_go_recent_ones_stay(time_machine, settings):
    time_machine.move_to(timezone.now(), tick=False)
    old_event = AuditEvent.objects.create(event="authn_login_fail", username="alice")
    old_attempt = AccessAttempt.objects.create(username="alice", ip_address="192.0.2.1", failures_since_start=1)
    old_log = AccessLog.objects.create(username="alice", ip_address="192.0.2.1")
    time_machine.shift(timezone.timedelta(days=settings.AUDIT_RETENTION_DAYS, seconds=1))
    recent = AuditEvent.objects.create(event="authn_login_fail", username="alice")
    output = run()
    assert "Removed 1 audit events." in output
    assert "Removed 1 axes access attempts." in output and "Removed 1 axes access logs." in output
    assert list(AuditEvent.objects.exclude(event="sys_purge")) == [recent]
    assert not AccessAttempt.objects.filter(pk=old_attempt.pk).exists()
    assert not AccessLog.objects.filter(pk=old_log.pk).exists()
    assert not AuditEvent.objects.filter(pk=old_event.pk).exists()


def test_a_finished_purge_is_recorded_with_its_duration_and_rows(expired_and_live):
    run()
    [purge] = AuditEvent.objects.filter(event="sys_purge")
    assert purge.details["removed"]["expired_sessions"] == 7
    assert purge.details["removed"]["abandoned_guest_carts"] == 0 and purge.details["duration_seconds"] >= 0


def test_a_dry_run_records_no_purge(expired_and_live):
    run("--dry-run")
    assert not AuditEvent.objects.filter(event="sys_purge").exists()


def test_finished_background_tasks_go_after_their_retention_waiting_ones_stay(
    time_machine, settings, user, mail_queue, worker
):
    time_machine.move_to(timezone.now(), tick=False)
    sent = mail_notice.enqueue(to=[user.email], subject="Sent", body="text")
    worker()
    waiting = mail_notice.using(run_after=timezone.now() + timezone.timedelta(days=365)).enqueue(
        to=[user.email], subject="Later", body="text"
    )
    time_machine.shift(timezone.timedelta(days=settings.TASK_RETENTION_DAYS, seconds=-1))
    assert "Removed 0 finished background tasks." in run()
    recent = mail_notice.enqueue(to=[user.email], subject="Recent", body="text")
    worker()
    time_machine.shift(timezone.timedelta(seconds=2))
    assert "Removed 1 finished background tasks." in run()
    kept = {str(pk) for pk in DBTaskResult.objects.values_list("id", flat=True)}
    assert kept == {recent.id, waiting.id}
    assert not DBTaskResult.objects.filter(id=sent.id).exists()


def test_progress_lines_only_on_a_terminal(expired_and_live):
    out = TerminalOutput()
    call_command("purge_sessions", "--batch-size", "3", stdout=out)
    assert "expired sessions: 7 removed so far" in out.getvalue()
    SessionFactory(expire_date=timezone.now() - DAY)
    assert "so far" not in run()
