"""DBSC in a real Chromium: the offer at sign-in, and today's behaviour for a browser that does not take it.

Chromium 156 on Linux, headless, does not register DBSC sessions whatever the
switches (docs/dbsc.md, "Browsers"): its network service ignores the
Secure-Session-Registration header here. So this test covers what a real
browser does show: the offer arrives with the sign-in, the browser carries on
without it, and nothing locks the user out. The protocol itself (registration,
bound cookie, refresh, refusal of a thief) is spoken by the protocol-level
client of tests/accounts/test_dbsc.py.
"""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from accounts.models import Session
from accounts.sessions import dbsc
from tests.browser.conftest import CHROMIUM_ARGS, CHROMIUM_PATH
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

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


def test_the_sign_in_offers_dbsc_and_a_browser_that_does_not_register_keeps_working(dbsc_chromium, live_server):
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
    # This Chromium did not take the offer: no key, no bound cookie, and the
    # devices page says so; the session goes on under today's rules.
    expect(page.locator("[data-bound]")).to_have_attribute("data-bound", "no")
    assert settings.DBSC_COOKIE_NAME not in {cookie["name"] for cookie in dbsc_chromium.cookies()}
    assert Session.objects.get(user__username="alice").device_key is None
    page.goto(f"{base}/accounts/")
    expect(page.get_by_test_id("auth-state")).to_have_text("Signed in as alice")
