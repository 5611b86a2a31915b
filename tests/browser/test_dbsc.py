"""DBSC in a real Chromium: the offer at sign-in, then either a device-bound session or today's behaviour.

Whether Chromium on Linux acts on the offer depends on its version (docs/dbsc.md,
"Browsers"): Debian 12's Chromium 150 registers a software key with the switches
below, in the background a moment after the sign-in; Chromium 156 ignored the
header. The test waits for the registration, then checks what that browser's
user gets either way: bound, a copy of the session cookie alone is refused; not
bound, the session goes on under today's rules and nothing locks the user out.
The protocol itself (proofs, refresh, challenges) is also spoken by the
protocol-level client of tests/accounts/sessions/test_dbsc.py.
"""

import time

import pytest
import requests
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Session
from accounts.sessions import dbsc
from tests.browser.conftest import CHROMIUM_ARGS, CHROMIUM_PATH
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

REGISTRATION_WAIT = 10  # seconds for the browser's background registration

# The switches that enable Chromium's standard DBSC with software keys and
# without origin-trial tokens (the chrome://flags variation "Enabled - without
# origin trial tokens" of enable-standard-device-bound-session-credentials).
DBSC_SWITCHES = [
    "--enable-features=DeviceBoundSessions:RequireOriginTrialTokens/false/OriginTrialFeedback/true,"
    "EnableBoundSessionCredentialsSoftwareKeysForManualTesting,DeviceBoundSessionsDevTools",
]


@pytest.fixture
def dbsc_chromium(playwright, tmp_path):
    """Chromium with the DBSC switches, on a persistent (not off-the-record) profile."""
    context = playwright.chromium.launch_persistent_context(
        tmp_path / "profile", executable_path=CHROMIUM_PATH, args=[*CHROMIUM_ARGS, *DBSC_SWITCHES]
    )
    yield context
    context.close()


def eventually(condition) -> bool:
    """Whether `condition()` comes true within REGISTRATION_WAIT seconds."""
    deadline = time.monotonic() + REGISTRATION_WAIT
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)  # the browser registers on its own schedule; nothing here moves a clock
    return True


def browser_cookies(context) -> dict:
    return {cookie["name"]: cookie["value"] for cookie in context.cookies()}


def test_the_sign_in_offers_dbsc_and_the_browser_is_bound_or_keeps_working(dbsc_chromium, live_server, time_machine):
    time_machine.move_to(timezone.now(), tick=True)
    UserFactory(username="alice")
    base = live_server.url.replace("127.0.0.1", "localhost")  # a secure context without TLS
    page = dbsc_chromium.new_page()
    offers = []
    page.on("response", lambda response: offers.append(response.headers.get(dbsc.REGISTRATION_HEADER.lower())))
    page.goto(f"{base}/accounts/login/?next=/accounts/sessions/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_test_id("auth-state")).to_have_text("Signed in as alice")
    offer = next(filter(None, offers))
    assert offer.startswith('(ES256 RS256);path="/accounts/session/dbsc/register/";challenge="')

    bound = eventually(lambda: Session.objects.get(user__username="alice").device_key is not None)
    if bound:  # the server has the key; the bound cookie reaches the browser with the answer
        assert eventually(lambda: settings.DBSC_COOKIE_NAME in browser_cookies(dbsc_chromium))
    else:
        assert settings.DBSC_COOKIE_NAME not in browser_cookies(dbsc_chromium)
    cookies = browser_cookies(dbsc_chromium)
    page.goto(f"{base}/accounts/sessions/")
    expect(page.locator("[data-bound]")).to_have_attribute("data-bound", "yes" if bound else "no")
    page.goto(f"{base}/accounts/")
    expect(page.get_by_test_id("auth-state")).to_have_text("Signed in as alice")
    if bound:
        # Past the grace for requests in flight at the binding, the session cookie copied
        # to another client, without the device's key, is refused.
        time_machine.shift(settings.SESSION_ROTATE_GRACE + 1)
        user_agent = page.evaluate("navigator.userAgent")
        stolen = requests.get(
            f"{base}/accounts/",
            cookies={settings.SESSION_COOKIE_NAME: cookies[settings.SESSION_COOKIE_NAME]},
            headers={"User-Agent": user_agent},
            allow_redirects=False,
            timeout=10,
        )
        assert stolen.status_code == 302 and "ended=" in stolen.headers["Location"]
