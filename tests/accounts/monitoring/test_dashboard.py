"""The staff monitoring dashboard: hourly charts, active sessions, alerts, access control."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.monitoring import audit
from accounts.monitoring.dashboard import axis_ticks, bar_chart
from tests.conftest import sign_in
from tests.factories import SessionFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/admin/dashboard/"
# The page is opened at 12:15; its 24 hourly buckets run from 13:00 the day before.
NOW = datetime(2026, 3, 10, 12, 15, tzinfo=UTC)
OUTSIDE_WINDOW = datetime(2026, 3, 9, 12, 30, tzinfo=UTC)  # its hour is labelled "12:00" too


@pytest.fixture
def staff():
    return UserFactory(username="staffer", is_staff=True, is_superuser=True)


@pytest.fixture
def clock(time_machine):
    """A stopped clock at OUTSIDE_WINDOW; tests shift it forward to NOW."""
    time_machine.move_to(OUTSIDE_WINDOW, tick=False)
    return time_machine


def move(clock, to: datetime) -> None:
    clock.shift(to - timezone.now())


def at(hour: int, minute: int = 0) -> datetime:
    return NOW.replace(hour=hour, minute=minute)


def record(event: str, times: int = 1, **details) -> None:
    for _ in range(times):
        audit.record(event, username="alice", **details)


def add_event(event: str, **fields) -> AuditEvent:
    return AuditEvent.objects.create(event=event, level=audit.EVENTS[event], **fields)


def open_dashboard(client, staff) -> str:
    client.force_login(staff)
    response = client.get(URL)
    assert response.status_code == 200
    return response.content.decode()


def charts(page: str) -> dict[str, tuple[str, set[str]]]:
    """Map each chart's name to its aria-label and the tooltips of its bars."""
    found = {}
    for label, body in re.findall(r'<svg[^>]*aria-label="([^"]*)"[^>]*>(.*?)</svg>', page, re.S):
        found[label.split(":")[0]] = (label, set(re.findall(r"<rect [^>]*><title>(.*?)</title></rect>", body)))
    return found


class TestHourlyCharts:
    def test_sign_ins_succeeded_and_failed_are_counted_per_hour(self, client, staff, clock):
        record("authn_login_success")  # more than 24 hours before the page is opened
        move(clock, at(9, 10))
        record("authn_login_success", 2)
        record("authn_login_successafterfail")
        record("authn_login_fail")
        move(clock, at(11, 50))
        record("authn_login_fail", 4)
        move(clock, at(12, 5))
        record("authn_login_success")
        move(clock, NOW)

        # Staff signing in to look is a sign-in too: 12:00 gets a second one.
        sign_in(client, username=staff.username)
        label, bars = charts(client.get(URL).content.decode())["Sign-ins per hour"]

        assert label == "Sign-ins per hour: 5 succeeded, 5 failed"
        assert bars == {"09:00 — succeeded: 3", "09:00 — failed: 1", "11:00 — failed: 4", "12:00 — succeeded: 2"}

    def test_lockouts_are_counted_per_hour(self, client, staff, clock):
        move(clock, at(3, 20))
        record("authn_login_lock", 2)
        move(clock, NOW)

        label, bars = charts(open_dashboard(client, staff))["Lockouts per hour"]

        assert label == "Lockouts per hour: 2 lockouts"
        assert bars == {"03:00 — lockouts: 2"}

    def test_only_scheduled_rotations_count_as_rotations(self, client, staff, clock):
        move(clock, at(7, 45))
        record("session_renewed", 3, because="interval")
        record("session_renewed", because="authentication")  # a sign-in's new key is no rotation
        record("session_expired", 2, reason="idle")
        move(clock, at(8, 1))
        record("session_expired", reason="revoked")
        move(clock, NOW)

        label, bars = charts(open_dashboard(client, staff))["Session rotations and expiries per hour"]

        assert label == "Session rotations and expiries per hour: 3 rotations, 3 expiries"
        assert bars == {"07:00 — rotations: 3", "07:00 — expiries: 2", "08:00 — expiries: 1"}

    def test_an_empty_day_says_so(self, client, staff):
        page = open_dashboard(client, staff)

        label, bars = charts(page)["Lockouts per hour"]
        assert label == "Lockouts per hour: 0 lockouts" and bars == set()
        assert "Nothing in this period" in page

    @pytest.mark.parametrize("events_per_hour", [0, 1, 20])
    def test_queries_do_not_grow_with_the_number_of_events(
        self, client, staff, events_per_hour, django_assert_max_num_queries
    ):
        now = timezone.now()
        AuditEvent.objects.bulk_create(
            AuditEvent(event=event, created_at=now - timedelta(hours=hour), details={"because": "interval"})
            for hour in range(24)
            for event in ["authn_login_success", "authn_login_fail", "authn_login_lock", "session_renewed"]
            for _ in range(events_per_hour)
        )
        for _ in range(events_per_hour):
            add_event("security_alert", details={"rule": "lockout", "subject": "x"})
            SessionFactory(user=UserFactory(), remember=True)
        client.force_login(staff)
        client.get(URL)  # the first request also records the session's address

        # Session and user lookups, then one query each: sessions, hours, alerts, hijacks, last purge.
        with django_assert_max_num_queries(7):
            assert client.get(URL).status_code == 200


def test_active_sessions_are_counted_by_kind(client, staff):
    SessionFactory.create_batch(3)  # guests
    SessionFactory(user=UserFactory(), remember=True)
    SessionFactory(user=UserFactory())
    SessionFactory(expire_date=timezone.now() - timedelta(seconds=1))  # expired, not yet purged
    SessionFactory(user=UserFactory(), successor_key="k" * 32)  # a rotated key in its grace

    page = open_dashboard(client, staff)

    # The staff member's own session is a signed-in one too.
    assert "right now: 6 in all, 3 guest and 3 signed in (1 with remember me)." in page
    assert charts(page)["Active sessions by kind"][1] == {
        "guest — sessions: 3",
        "signed in, remember me — sessions: 1",
        "signed in, not remembered — sessions: 2",
    }


def test_latest_twenty_alerts_are_listed_newest_first(client, staff):
    start = timezone.now() - timedelta(hours=2)
    for n in range(25):
        add_event(
            "security_alert",
            created_at=start + timedelta(minutes=n),
            ip=f"198.51.100.{n + 100}",
            details={"rule": "session_guessing", "subject": f"alert-{n:02d}"},
        )
    add_event("security_alert", ip="192.0.2.1", details={"rule": "hijack", "subject": "<b>alice</b>'s session"})

    page = open_dashboard(client, staff)

    table_at = page.index('<table id="alerts">')
    table = page[table_at : page.index("</table>", table_at)]
    shown = re.findall(r"alert-\d\d", table)
    assert shown == [f"alert-{n:02d}" for n in range(24, 5, -1)]  # after the newest: 24 down to 6
    assert "&lt;b&gt;alice&lt;/b&gt;&#x27;s session" in table and "<b>alice</b>" not in table
    assert "hijack" in table and "192.0.2.1" in table and "198.51.100.124" in table


def test_suspected_hijacks_are_listed(client, staff):
    add_event(
        "session_hijack_suspected",
        username="alice",
        ip="203.0.113.66",
        details={"reason": "browser", "expected_ip": "192.0.2.10"},
    )

    page = open_dashboard(client, staff)

    table = page[page.index('<table id="hijacks">') :]
    row = re.search(r"<tr><td>[^<]*</td>(.*?)</tr>", table[table.index("<tbody>") :], re.S)[1]
    assert re.findall(r"<td>(.*?)</td>", row) == ["alice", "browser", "203.0.113.66", "192.0.2.10"]


def test_page_offers_a_refresh_every_minute_that_staff_can_stop(client, staff, time_machine):
    time_machine.move_to(NOW, tick=False)

    page = open_dashboard(client, staff)

    # WCAG 2.2.1 (axe-core's meta-refresh): no refresh the reader cannot stop; a script does it, behind a checkbox.
    assert 'http-equiv="refresh"' not in page
    assert '<script src="/static/js/auto-refresh.js" defer></script>' in page
    assert '<p class="auto-refresh" data-auto-refresh="60"><input type="checkbox" id="auto-refresh" checked>' in page
    assert 'Updated at <time datetime="2026-03-10T12:15:00+00:00">12:15:00 UTC</time>' in page
    # The CSP refuses inline script and style: every script has a src, no element a style.
    assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", page)
    assert " style=" not in page


def test_admin_index_links_to_the_dashboard(client, staff):
    client.force_login(staff)

    page = client.get("/admin/").content.decode()

    assert f'<a href="{URL}">Monitoring dashboard</a>' in page


def test_signed_in_shopper_is_sent_to_the_admin_login_and_recorded(client, user):
    client.force_login(user)

    response = client.get(URL)

    assert response.status_code == 302 and response["Location"] == f"/admin/login/?next={URL}"
    denied = AuditEvent.objects.get(event="authz_fail")
    assert denied.user == user and denied.path == URL and denied.details == {"area": "admin"}


def test_anonymous_visitor_is_sent_to_the_admin_login(client):
    response = client.get(URL)

    assert response.status_code == 302 and response["Location"] == f"/admin/login/?next={URL}"
    assert not AuditEvent.objects.filter(event="authz_fail").exists()


def draw(*rows, **options) -> str:
    """Lay out a chart and draw it with the dashboard's template."""
    return render_to_string("admin/includes/bar_chart.html", {"chart": bar_chart(*rows, **options)})


class TestBarChart:
    def test_each_bar_has_a_tooltip_and_the_chart_a_summary(self):
        svg = draw(
            [("a", {"x": 2, "y": 0}), ("b", {"x": 1, "y": 4})],
            series={"x": "#000", "y": "#111"},
            label="Things",
            x_label="letter",
            y_label="count",
        )

        assert 'role="img" aria-label="Things: 3 x, 4 y"' in svg
        assert re.findall(r"<title>(.*?)</title>", svg) == ["a — x: 2", "b — x: 1", "b — y: 4"]
        # The tallest bar reaches the top gridline (4); the others are in proportion.
        heights = [float(h) for h in re.findall(r'<rect class="bar"[^>]*height="([\d.]+)"', svg)]
        assert heights[2] == 2 * heights[0] == 4 * heights[1]

    def test_text_is_escaped(self):
        svg = draw([("<b>", {"s": 1})], series={"s": "#000"}, label='"x" & y', x_label="<i>", y_label="<u>")

        assert "<b>" not in svg and "<i>" not in svg and "<u>" not in svg
        assert "&lt;b&gt; — s: 1" in svg and 'aria-label="&quot;x&quot; &amp; y: 1 s"' in svg

    @pytest.mark.parametrize(
        "peak, ticks",
        [(0, [0, 1]), (3, [0, 1, 2, 3]), (5, [0, 1, 2, 3, 4, 5]), (7, [0, 2, 4, 6, 8]), (42, [0, 10, 20, 30, 40, 50])],
    )
    def test_gridlines_are_few_round_numbers_above_the_peak(self, peak, ticks):
        assert axis_ticks(peak) == ticks
