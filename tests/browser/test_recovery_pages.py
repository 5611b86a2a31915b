"""The recovery pages pass axe-core and fit a 360 px phone, in the states a shopper meets them."""

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import Page, expect

from accounts.models import EmailState
from tests.browser.axe import horizontal_overflow
from tests.browser.test_accessibility import DESKTOP, HEIGHT, PHONE, SMALL_PHONE, _audit, _sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _recovery_pages(page: Page, base: str):
    """Visit each recovery page, in the states a shopper meets; yield a label for each."""
    user = UserFactory(username="dana")
    page.goto(f"{base}/accounts/password/reset/")
    page.get_by_label("Email address").fill("not an address")
    page.get_by_role("button", name="Mail me a reset link").click()
    expect(page.get_by_role("alert")).to_be_visible()
    yield "password reset, errors"
    page.get_by_label("Email address").fill("dana@example.com")
    page.get_by_role("button", name="Mail me a reset link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your mail")
    yield "password reset, mail sent"
    page.goto(f"{base}/accounts/password/reset/MQ/not-a-token/")
    yield "reset link, not valid"
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    page.goto(f"{base}/accounts/password/reset/{uid}/{default_token_generator.make_token(user)}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    yield "new password"
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("New password again").fill("other")
    page.get_by_role("button", name="Set the new password").click()
    yield "new password, errors"
    page.goto(f"{base}/accounts/email/verify/not-a-token/")
    yield "email link, not valid"
    EmailState.objects.create(user=user, pending="dana.new.address@example.com")
    _sign_in(page, base, "dana", next_path="/accounts/")
    expect(page.get_by_test_id("email-pending")).to_be_visible()
    yield "account, email not confirmed and a change pending"


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_recovery_pages_have_no_axe_violations(page: Page, live_server, width):
    failures = _audit(page, width, _recovery_pages(page, live_server.url))
    assert failures == [], "\n".join(failures)


def test_no_recovery_page_scrolls_sideways_on_a_360px_phone(page: Page, live_server):
    page.set_viewport_size({"width": SMALL_PHONE, "height": HEIGHT[SMALL_PHONE]})
    wide = [
        f"{label} {page.url}: {overflow}px wider than the screen"
        for label in _recovery_pages(page, live_server.url)
        if (overflow := horizontal_overflow(page))
    ]
    assert wide == [], "\n".join(wide)
