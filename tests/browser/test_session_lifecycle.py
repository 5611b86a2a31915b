"""The signed-in session's life in a real browser: idle warning, timeout, tabs, devices.

The server's idle deadline is the recorded last activity + SESSION_IDLE_TIMEOUT + the
activity granularity (max(1, min(60, idle // 10)) seconds: 1 s for the short limits used
here), so each wait below is derived from those three numbers plus a little slack for the
browser. The limits are kept as small as stays reliable, because these tests really wait.
"""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

IDLE = 12  # seconds; the sign-in page says "12 seconds", not "0 minutes"
WARN_BEFORE = 8
GRANULARITY = 1  # max(1, min(60, IDLE // 10))
SLACK = 3  # page loads, fetches and one-second ticks in the browser

STATUS_URL = "/accounts/session/status/"
# Longest a page can sit idle before the server ends its session.
IDLE_DEADLINE_MS = (IDLE + GRANULARITY) * 1000
# When the warning must show at the latest after the last activity.
WARNING_MS = (IDLE - WARN_BEFORE + GRANULARITY + SLACK) * 1000
# When the page must have left for the sign-in page at the latest.
SIGNED_OUT_MS = (IDLE + GRANULARITY + SLACK) * 1000

FIREFOX_ON_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_ON_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
EDGE_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0"
)


@pytest.fixture
def short_idle(settings):
    settings.SESSION_IDLE_TIMEOUT = IDLE
    settings.SESSION_WARNING_BEFORE = WARN_BEFORE


def _sign_in(page: Page, base_url: str, username: str, *, next_path: str = "/") -> None:
    """Sign in through the real form and land on `next_path`, signed in."""
    page.goto(f"{base_url}/accounts/login/?next={next_path}")
    _submit_sign_in(page, username)
    expect(page).to_have_url(f"{base_url}{next_path}")


def _submit_sign_in(page: Page, username: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_test_id("auth-state")).to_have_text(f"Signed in as {username}")


def _status(page: Page) -> dict:
    """Ask the status endpoint as the page's script does (same cookies, same browser)."""
    return page.evaluate(
        """async (url) => {
            const response = await fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}});
            return {...await response.json(), now: Date.now()};
        }""",
        STATUS_URL,
    )


def _countdown_seconds(page: Page) -> int:
    text = page.locator("#session-timeout [data-countdown]").text_content()
    match = re.fullmatch(r"(\d+):([0-5]\d)", text)
    assert match, f"countdown {text!r} is not m:ss"
    return int(match[1]) * 60 + int(match[2])


def _count_status_polls(context: BrowserContext) -> list:
    polls = []
    context.on("request", lambda request: polls.append(request) if STATUS_URL in request.url else None)
    return polls


def _expect_ended_for_idle(page: Page, base_url: str, next_path: str) -> None:
    expect(page).to_have_url(re.compile(rf"^{re.escape(base_url)}/accounts/login/\?"), timeout=SIGNED_OUT_MS)
    query = parse_qs(urlsplit(page.url).query)
    assert query == {"next": [next_path], "ended": ["idle"]}
    expect(page.get_by_test_id("ended")).to_have_text(f"You were signed out after {IDLE} seconds without activity.")
    expect(page.get_by_test_id("auth-state")).to_have_text("Guest")


def test_idle_warning_appears_and_stay_signed_in_extends(page: Page, live_server, short_idle):
    user = UserFactory()
    _sign_in(page, live_server.url, user.username)
    signed_in = _status(page)
    assert signed_in["authenticated"] is True
    # The server's deadline as the browser's clock sees it (the API rounds down).
    original_deadline = signed_in["now"] + (signed_in["idle_expires_in"] + 1) * 1000
    dialog = page.locator("dialog#session-timeout")
    expect(dialog).to_be_hidden()

    expect(dialog).to_be_visible(timeout=WARNING_MS)
    expect(dialog.get_by_role("heading")).to_have_text("Are you still there?")
    first = _countdown_seconds(page)
    assert 0 < first <= WARN_BEFORE
    expect(dialog.locator("[data-countdown]")).not_to_have_text(f"0:{first:02d}", timeout=2500)
    assert _countdown_seconds(page) < first

    dialog.get_by_test_id("stay-signed-in").click()
    expect(dialog).to_be_hidden()
    extended = _status(page)
    assert extended["authenticated"] is True
    assert IDLE - 1 <= extended["idle_expires_in"] <= IDLE + GRANULARITY

    # Wait out the deadline the session had before "Stay signed in"...
    page.wait_for_function("deadline => Date.now() > deadline", arg=original_deadline, timeout=IDLE_DEADLINE_MS)
    assert page.url == f"{live_server.url}/"
    assert _status(page)["authenticated"] is True
    # ...and the server still knows the user.
    page.reload()
    expect(page.get_by_test_id("auth-state")).to_have_text(f"Signed in as {user.username}")


def test_ignoring_the_warning_ends_on_the_sign_in_page_with_the_message(page: Page, live_server, short_idle):
    user = UserFactory()
    status_polls = _count_status_polls(page.context)
    _sign_in(page, live_server.url, user.username, next_path="/orders/")
    expect(page.get_by_role("heading", name="Your orders")).to_be_visible()

    expect(page.locator("dialog#session-timeout")).to_be_visible(timeout=WARNING_MS)
    _expect_ended_for_idle(page, live_server.url, "/orders/")
    # The page asked the server before warning and before leaving, not in a loop.
    assert len(status_polls) <= 4, [poll.url for poll in status_polls]

    # The server really ended it, and signing in again returns to where the user was.
    _submit_sign_in(page, user.username)
    expect(page).to_have_url(f"{live_server.url}/orders/")
    expect(page.get_by_role("heading", name="Your orders")).to_be_visible()


def test_two_tabs_stay_in_sync(context: BrowserContext, live_server, short_idle):
    user = UserFactory()
    status_polls = _count_status_polls(context)
    tab_a = context.new_page()
    _sign_in(tab_a, live_server.url, user.username)
    tab_b = context.new_page()
    tab_b.goto(f"{live_server.url}/orders/")
    expect(tab_b.get_by_test_id("auth-state")).to_have_text(f"Signed in as {user.username}")
    dialog_a = tab_a.locator("dialog#session-timeout")
    dialog_b = tab_b.locator("dialog#session-timeout")

    expect(dialog_a).to_be_visible(timeout=WARNING_MS)
    expect(dialog_b).to_be_visible(timeout=WARNING_MS)
    polls_before_extend = len(status_polls)
    dialog_a.get_by_test_id("stay-signed-in").click()
    expect(dialog_a).to_be_hidden()
    # BroadcastChannel: the other tab learns of the new deadline without a reload.
    expect(dialog_b).to_be_hidden(timeout=2000)
    assert polls_before_extend <= 4, [poll.url for poll in status_polls]

    # Nobody comes back: both tabs end up on the sign-in page, each remembering its page.
    _expect_ended_for_idle(tab_a, live_server.url, "/")
    _expect_ended_for_idle(tab_b, live_server.url, "/orders/")
    assert len(status_polls) <= 10, [poll.url for poll in status_polls]


def _signed_in_browser(browser: Browser, base_url: str, username: str, user_agent: str) -> Page:
    context = browser.new_context(user_agent=user_agent)
    page = context.new_page()
    _sign_in(page, base_url, username)
    return page


def _devices(page: Page):
    return page.locator("tr[data-testid^='device-']")


def test_devices_page_revokes_another_browser(browser: Browser, live_server):
    user = UserFactory()
    laptop = _signed_in_browser(browser, live_server.url, user.username, FIREFOX_ON_LINUX)
    phone = _signed_in_browser(browser, live_server.url, user.username, SAFARI_ON_IPHONE)
    try:
        laptop.get_by_role("banner").get_by_test_id("auth-state").click()  # the account area holds Devices
        laptop.get_by_role("link", name="Devices", exact=True).click()
        expect(laptop).to_have_url(f"{live_server.url}/accounts/sessions/")
        devices = _devices(laptop)
        expect(devices).to_have_count(2)
        this_device = devices.filter(has_text="this device")
        expect(this_device).to_have_count(1)
        expect(this_device).to_contain_text("Firefox 128 on Linux")
        other = devices.filter(has_not_text="this device")
        expect(other).to_contain_text("Mobile Safari 17 on iOS")

        other.get_by_role("button", name="Sign out").click()
        laptop.get_by_label("Password").fill(PASSWORD)  # asked every time, on one screen
        laptop.get_by_role("button", name="Sign out that device").click()
        expect(laptop).to_have_url(f"{live_server.url}/accounts/sessions/")
        expect(laptop.get_by_role("status")).to_contain_text("That session is signed out.")
        expect(_devices(laptop)).to_have_count(1)
        expect(_devices(laptop)).to_contain_text("this device")
        expect(laptop.get_by_test_id("revoke-others")).to_have_count(0)

        phone.reload()
        expect(phone.get_by_test_id("auth-state")).to_have_text("Guest")
        laptop.goto(f"{live_server.url}/")
        expect(laptop.get_by_test_id("auth-state")).to_have_text(f"Signed in as {user.username}")
    finally:
        laptop.context.close()
        phone.context.close()


def test_devices_page_signs_out_all_other_browsers(browser: Browser, live_server):
    user = UserFactory()
    laptop = _signed_in_browser(browser, live_server.url, user.username, FIREFOX_ON_LINUX)
    others = [
        _signed_in_browser(browser, live_server.url, user.username, user_agent)
        for user_agent in (SAFARI_ON_IPHONE, EDGE_ON_WINDOWS)
    ]
    try:
        laptop.goto(f"{live_server.url}/accounts/sessions/")
        expect(_devices(laptop)).to_have_count(3)
        expect(_devices(laptop).filter(has_text="this device")).to_contain_text("Firefox 128 on Linux")

        laptop.get_by_test_id("revoke-others").click()
        # Ending other sessions asks for the password every time, on one screen that names the action.
        laptop.get_by_label("Password").fill(PASSWORD)
        laptop.get_by_role("button", name="Sign out all your other devices").click()
        expect(laptop).to_have_url(f"{live_server.url}/accounts/sessions/")
        expect(laptop.get_by_role("status")).to_contain_text("Signed out 2 other sessions.")
        expect(_devices(laptop)).to_have_count(1)
        expect(_devices(laptop)).to_contain_text("this device")

        for other in others:
            other.reload()
            expect(other.get_by_test_id("auth-state")).to_have_text("Guest")
        laptop.goto(f"{live_server.url}/")
        expect(laptop.get_by_test_id("auth-state")).to_have_text(f"Signed in as {user.username}")
    finally:
        laptop.context.close()
        for other in others:
            other.context.close()
