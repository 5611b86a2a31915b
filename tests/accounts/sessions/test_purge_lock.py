"""Two purges started together on PostgreSQL: one purges, the other stands down."""

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts.management.commands.purge_sessions import ANOTHER_PURGE_RUNNING
from accounts.models import Session
from accounts.sessions.purge import PURGE_LOCK_ID
from tests.factories import SessionFactory
from tests.servers import WAIT_SECONDS, start_manage, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def other_connection():
    db = connection.settings_dict
    return psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=True)


def purge_waits_on_a_row_lock(monitor) -> bool:
    """True once some backend holds the purge lock and is itself waiting for a row lock."""
    return (
        monitor.execute(
            """SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
           WHERE l.locktype = 'advisory' AND l.granted
             AND ((l.classid::bigint << 32) | l.objid::bigint) = %s AND a.wait_event_type = 'Lock'""",
            [PURGE_LOCK_ID],
        ).fetchone()[0]
        == 1
    )


def test_a_second_purge_started_while_one_runs_says_so_exits_0_and_removes_nothing():
    expired = [SessionFactory(expire_date=timezone.now() - timezone.timedelta(days=1)) for _ in range(5)]
    live = SessionFactory()
    with other_connection() as blocker, other_connection() as monitor:
        # Hold one expired row, so that the first purge stops mid-walk, lock in hand:
        # the two runs then overlap for certain, with no timing involved.
        blocker.execute("BEGIN")
        blocker.execute("SELECT 1 FROM accounts_session WHERE session_key = %s FOR UPDATE", [expired[0].session_key])
        first = start_manage("purge_sessions")
        try:
            wait_until(lambda: purge_waits_on_a_row_lock(monitor), "the first purge to hold the lock and wait")
            second = start_manage("purge_sessions")
            second_output, _ = second.communicate(timeout=WAIT_SECONDS)
            assert second.returncode == 0
            assert ANOTHER_PURGE_RUNNING in second_output
            assert Session.objects.filter(expire_date__lt=timezone.now()).exists()  # still held back
        finally:
            blocker.execute("ROLLBACK")
            first_output, _ = first.communicate(timeout=WAIT_SECONDS)
    assert first.returncode == 0
    assert "Removed 5 expired sessions." in first_output
    assert list(Session.objects.all()) == [live]


def test_the_lock_is_released_when_a_purge_ends():
    SessionFactory(expire_date=timezone.now() - timezone.timedelta(days=1))
    for expected in ("Removed 1 expired sessions.", "Removed 0 expired sessions."):
        run = start_manage("purge_sessions")
        output, _ = run.communicate(timeout=WAIT_SECONDS)
        assert run.returncode == 0 and expected in output


def test_clearsessions_removes_nothing_while_another_purge_holds_the_lock():
    SessionFactory(expire_date=timezone.now() - timezone.timedelta(days=1))
    with other_connection() as other:
        other.execute("SELECT pg_advisory_lock(%s)", [PURGE_LOCK_ID])
        call_command("clearsessions")
        assert Session.objects.count() == 1
        other.execute("SELECT pg_advisory_unlock(%s)", [PURGE_LOCK_ID])
    call_command("clearsessions")
    assert not Session.objects.exists()
