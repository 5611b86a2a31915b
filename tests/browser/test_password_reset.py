"""A forgotten password, as a shopper with MFA meets it: the link by mail, a new password, the code step."""

import re
from base64 import b32encode

import pyotp
import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tests.factories import UserFactory
from tests.servers import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "tangerine-lighthouse-47"
LINK = re.compile(r"http://[^/\s]+(/accounts/password/reset/\S+/)")


def test_forgot_password_mail_new_password_then_signed_in_through_the_code_step(page: Page, live_server, mailoutbox):
    base = live_server.url
    user = UserFactory(username="erin")
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    totp = pyotp.TOTP(b32encode(device.bin_key).decode())

    page.goto(f"{base}/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reset your password")
    page.get_by_label("Email address").fill("erin@example.com")
    page.get_by_role("button", name="Mail me a reset link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your mail")

    # The live server runs the suite's immediate task backend: the mail is sent as it is queued.
    wait_until(lambda: mailoutbox, "the reset mail")
    (mail,) = mailoutbox
    assert mail.to == ["erin@example.com"]
    page.goto(base + LINK.search(mail.body).group(1))
    # Django swaps the token for "set-password" at once: it never stays in the address bar.
    expect(page).to_have_url(re.compile(r"/accounts/password/reset/[^/]+/set-password/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    expect(page.locator("#password-rules")).to_contain_text("at least 8 characters")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()

    expect(page).to_have_url(f"{base}/accounts/login/")
    expect(page.get_by_role("status")).to_contain_text("Your password was reset")
    page.get_by_label("Username").fill("erin")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    # A reset never skips MFA: the code step follows, and the visitor is still a guest.
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    expect(page.get_by_test_id("auth-state")).to_have_text("Guest")
    page.get_by_label("Code").fill(totp.now())
    page.get_by_role("button", name="Verify and sign in").click()
    expect(page.get_by_test_id("auth-state")).to_have_text("Signed in as erin")
    wait_until(lambda: len(mailoutbox) >= 2, "the reset notice")
    assert mailoutbox[1].subject == "[shopdemo] Your password was reset"
