"""session_report: active sessions by kind, rows awaiting purge, the last day's events."""

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.monitoring import audit
from accounts.monitoring.audit import EVENTS
from tests.factories import SessionFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 15, tzinfo=UTC)
DEVICE_KEY = {"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "alg": "ES256"}


def run(*args) -> str:
    out = StringIO()
    call_command("session_report", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def traffic(time_machine):
    """Sessions of every kind and a day and a half of events, seen at NOW."""
    time_machine.move_to(NOW - timedelta(hours=30), tick=False)
    audit.record("authn_login_fail", username="alice")  # too old for the report
    time_machine.shift(timedelta(hours=7))
    audit.record("authn_login_success", username="alice")  # 23 hours before NOW
    time_machine.move_to(NOW, tick=False)
    for _ in range(2):
        audit.record("authn_login_fail", username="bob")
    audit.record("session_expired", username="bob", reason="idle")

    SessionFactory.create_batch(3)  # guests
    SessionFactory(user=UserFactory(), remember=True)
    SessionFactory(user=UserFactory())
    SessionFactory(user=UserFactory(), device_key=DEVICE_KEY)  # bound with DBSC
    SessionFactory(user=UserFactory(), successor_key="n" * 32, expire_date=NOW + timedelta(seconds=20))  # in grace
    SessionFactory(expire_date=NOW)  # ends now: the server no longer accepts it
    SessionFactory(user=UserFactory(), expire_date=NOW - timedelta(days=2))
    SessionFactory(user=UserFactory(), successor_key="o" * 32, expire_date=NOW - timedelta(seconds=5))  # grace over


def test_text_report_counts_sessions_rows_to_purge_and_events(traffic):
    assert run() == (
        "Session report at 2026-03-10T12:15:00+00:00\n"
        "Active sessions:\n"
        "  guest              3\n"
        "  signed in          3\n"
        "    with remember-me 1\n"
        "    device-bound     1 (DBSC; 2 not bound)\n"
        "Expired rows waiting for purge: 3\n"
        "Events in the last 24 hours:\n"
        "  authn_login_fail              2\n"
        "  authn_login_success           1\n"
        "  session_expired               1\n"
    )


def test_json_report_is_one_object_for_scripts(traffic):
    report = json.loads(run("--json"))

    assert report == {
        "active": {"guest": 3, "signed_in": 3, "remember_me": 1, "device_bound": 1, "unbound": 2},
        "expired_waiting_for_purge": 3,
        # Every event name is present, so scripts can read any of them without a default.
        "events_24h": dict.fromkeys(EVENTS, 0)
        | {"authn_login_fail": 2, "authn_login_success": 1, "session_expired": 1},
        "generated_at": "2026-03-10T12:15:00+00:00",
    }
    assert list(report["events_24h"]) == sorted(EVENTS)


def test_an_empty_site_reports_zeros(time_machine):
    time_machine.move_to(NOW, tick=False)

    assert run().endswith("Expired rows waiting for purge: 0\nEvents in the last 24 hours:\n  none\n")
    assert json.loads(run("--json"))["active"] == {
        "guest": 0,
        "signed_in": 0,
        "remember_me": 0,
        "device_bound": 0,
        "unbound": 0,
    }
