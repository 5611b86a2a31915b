"""The monitoring dashboard in a real browser: staff reach it from the admin and see the charts drawn."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import AuditEvent
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _tooltips(chart) -> list[str]:
    return chart.locator("rect.bar title").all_text_contents()


def test_staff_open_the_dashboard_from_the_admin_and_see_charts_with_data(page: Page, live_server):
    UserFactory(username="operator", is_staff=True, is_superuser=True)
    three_hours_ago = timezone.now() - timedelta(hours=3)
    AuditEvent.objects.bulk_create(
        [AuditEvent(event="authn_login_lock", level="WARNING", created_at=three_hours_ago)] * 2
    )
    blocked = []  # the CSP refuses inline script and style: the page must need neither
    page.on("console", lambda message: "Content Security Policy" in message.text and blocked.append(message.text))

    # The admin has no sign-in form of its own: it sends staff to the site's
    # (with its MFA step and lockout). A mistyped password first, so the
    # sign-in chart has a failure beside the success.
    page.goto(f"{live_server.url}/admin/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/admin/")
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("Please enter a correct username and password")).to_be_visible()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/admin/")

    page.get_by_role("link", name="Monitoring dashboard").click()

    expect(page).to_have_url(f"{live_server.url}/admin/dashboard/")
    expect(page.get_by_role("heading", name="Monitoring dashboard")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Updated at \d\d:\d\d:\d\d UTC"))).to_be_visible()
    charts = page.get_by_role("img")
    expect(charts).to_have_count(4)

    # After the failure the sign-in is recorded as authn_login_successafterfail: it counts as succeeded.
    signed_in_at = AuditEvent.objects.get(event="authn_login_successafterfail").created_at
    failed_at = AuditEvent.objects.get(event="authn_login_fail").created_at
    sign_ins = page.get_by_role("img", name=re.compile(r"^Sign-ins per hour: 1 succeeded, 1 failed$"))
    expect(sign_ins.locator("rect.bar")).to_have_count(2)
    assert sorted(_tooltips(sign_ins)) == [f"{failed_at:%H}:00 — failed: 1", f"{signed_in_at:%H}:00 — succeeded: 1"]

    lockouts = page.get_by_role("img", name="Lockouts per hour: 2 lockouts")
    assert _tooltips(lockouts) == [f"{three_hours_ago:%H}:00 — lockouts: 2"]

    # The operator's own session is the one live session.
    sessions = page.get_by_role("img", name=re.compile(r"^Active sessions by kind"))
    assert _tooltips(sessions) == ["signed in, not remembered — sessions: 1"]

    # Bars are drawn, not only present in the markup.
    box = sign_ins.locator("rect.bar").first.bounding_box()
    assert box["width"] > 5 and box["height"] > 5
    assert blocked == []


def test_dashboard_reloads_every_minute_until_staff_untick_the_box(page: Page, live_server):
    UserFactory(username="operator", is_staff=True, is_superuser=True)
    page.clock.install()  # the page's timers run on a clock the test moves: no waiting
    page.goto(f"{live_server.url}/accounts/login/?next=/admin/dashboard/")
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Monitoring dashboard")).to_be_visible()
    expect(page.get_by_label("Refresh this page every minute")).to_be_checked()
    # The refresh timer is set by a deferred script: it has run once the document is parsed.
    page.wait_for_load_state("domcontentloaded")

    page.evaluate("window.loadedOnce = true")  # gone after a reload
    with page.expect_navigation():
        page.clock.run_for(61_000)
    assert page.evaluate("window.loadedOnce") is None

    page.evaluate("window.loadedOnce = true")
    page.get_by_label("Refresh this page every minute").uncheck()
    page.clock.run_for(300_000)
    assert page.evaluate("window.loadedOnce") is True
