"""MFA: enrolment, the sign-in OTP step, recovery codes, code guessing."""

import html
import re
import time

import pyotp
import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEvent, Session
from cart.models import CartItem
from tests.conftest import SESSION_COOKIE, confirm_it_is_me, sign_in

pytestmark = pytest.mark.django_db

SIGNED_IN = "Signed in as"


def enrol(client) -> tuple[str, list[str]]:
    """Turn MFA on through the pages; return the secret and the recovery codes."""
    page = client.get("/accounts/mfa/").content.decode()
    secret = re.search(r"data-otp-secret>([A-Z2-7]+)<", page).group(1)
    codes_page = client.post("/accounts/mfa/", {"otp_token": pyotp.TOTP(secret).now()}).content.decode()
    return secret, re.findall(r"<li><code>([a-z0-9]+)</code></li>", codes_page)


def next_code(secret, steps=1):
    """A code from a later 30 s step: django-otp accepts one step of drift and refuses reused steps."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps)


def wrong_code(secret):
    """Six digits that match no step django-otp would accept now."""
    totp = pyotp.TOTP(secret)
    valid = {totp.at(time.time() + 30 * step) for step in (-1, 0, 1, 2)}
    return next(code for code in ("000000", "111111", "222222", "333333", "444444") if code not in valid)


@pytest.fixture
def enrolled(client, user):
    sign_in(client)
    secret, codes = enrol(client)
    client.post("/accounts/logout/")
    return secret, codes


class TestEnrolment:
    def test_page_shows_qr_and_secret_and_first_code_confirms(self, client, user, mailoutbox):
        sign_in(client)
        page = client.get("/accounts/mfa/").content.decode()
        assert "<svg" in page and "data-otp-secret" in page
        # On a phone that cannot scan its own screen: a tap-to-open link, with the same secret.
        link = re.search(r'<a href="(otpauth://totp/[^"]+)" data-testid="otpauth-link">', page).group(1)
        secret, codes = enrol(client)
        assert f"secret={secret.rstrip('=')}" in html.unescape(link)
        assert len(codes) == 10 and len(set(codes)) == 10
        assert "On. Signing in asks for a code" in client.get("/accounts/mfa/").content.decode()
        assert mailoutbox[-1].subject == "[shopdemo] Two-factor authentication switched on"

    def test_wrong_first_code_keeps_it_off(self, client, user):
        sign_in(client)
        client.get("/accounts/mfa/")
        response = client.post("/accounts/mfa/", {"otp_token": "000000"})
        assert response.status_code == 400
        assert "That code is not the one your app shows for shopdemo now." in response.content.decode()
        assert "Off: your password alone" in client.get("/accounts/").content.decode()

    def test_a_right_first_code_sent_while_throttled_is_told_to_wait_not_that_it_is_wrong(self, client, user, clock):
        sign_in(client)
        page = client.get("/accounts/mfa/").content.decode()
        secret = re.search(r"data-otp-secret>([A-Z2-7]+)<", page).group(1)
        client.post("/accounts/mfa/", {"otp_token": wrong_code(secret)})  # a typo: django-otp waits 1 s

        too_soon = client.post("/accounts/mfa/", {"otp_token": pyotp.TOTP(secret).now()}).content.decode()
        assert "Too many wrong codes: wait 1 second, then enter the current code." in too_soon
        assert "not the one your app shows" not in too_soon

        clock.shift(2)
        codes_page = client.post("/accounts/mfa/", {"otp_token": pyotp.TOTP(secret).now()}).content.decode()
        assert len(re.findall(r"<li><code>([a-z0-9]+)</code></li>", codes_page)) == 10

    def test_recovery_codes_download_as_text(self, client, user):
        sign_in(client)
        _, codes = enrol(client)
        response = client.post("/accounts/mfa/recovery-codes.txt", {"code": [*codes, "forged123"]})
        assert response["Content-Type"] == "text/plain"
        assert "attachment" in response["Content-Disposition"]
        body = response.content.decode()
        assert all(code in body for code in codes) and "forged123" not in body

    def test_regenerating_codes_kills_the_old_ones(self, client, user):
        sign_in(client)
        secret, old_codes = enrol(client)
        confirm_it_is_me(client, otp_token=next_code(secret))
        page = client.post("/accounts/mfa/recovery-codes/").content.decode()
        new_codes = re.findall(r"<li><code>([a-z0-9]+)</code></li>", page)
        assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
        client.post("/accounts/logout/")
        sign_in(client)
        assert client.post("/accounts/login/otp/", {"otp_token": old_codes[0]}).status_code == 200
        assert SIGNED_IN not in client.get("/").content.decode()

    def test_disabling_needs_a_confirmation_that_says_what_is_lost(self, client, user, mailoutbox):
        sign_in(client)
        secret, _ = enrol(client)
        confirm_it_is_me(client, otp_token=next_code(secret))
        page = client.get("/accounts/mfa/disable/").content.decode()
        assert "anyone who learns your password can sign in as you" in page
        client.post("/accounts/mfa/disable/")
        assert "Off: your password alone" in client.get("/accounts/").content.decode()
        assert mailoutbox[-1].subject == "[shopdemo] Two-factor authentication switched off"


class TestSignInWithMFA:
    def test_password_alone_does_not_sign_in(self, client, enrolled):
        response = sign_in(client)
        assert response["Location"].startswith("/accounts/login/otp/")
        for path in ["/", "/orders/", "/accounts/"]:
            assert SIGNED_IN not in client.get(path, follow=True).content.decode()
        assert not Session.objects.filter(user__isnull=False).exists()

    def test_code_completes_sign_in_on_a_new_key_and_carries_the_cart(self, client, enrolled, product):
        secret, _ = enrolled
        client.post("/cart/add/", {"product": product.pk, "quantity": 2})
        sign_in(client)
        pending_key = client.cookies[SESSION_COOKIE].value
        response = client.post("/accounts/login/otp/", {"otp_token": next_code(secret)})
        assert response.status_code == 302
        assert client.cookies[SESSION_COOKIE].value != pending_key  # V7.2.4: new key at MFA verification
        assert SIGNED_IN in client.get("/").content.decode()
        assert CartItem.objects.get(cart__user__username="alice").quantity == 2

    def test_otp_step_is_unreachable_without_the_password_step(self, client, enrolled):
        response = client.get("/accounts/login/otp/")
        assert response["Location"] == "/accounts/login/"
        secret, _ = enrolled
        client.post("/accounts/login/otp/", {"otp_token": next_code(secret)})
        assert SIGNED_IN not in client.get("/").content.decode()

    def test_pending_state_expires(self, client, enrolled, time_machine):
        secret, _ = enrolled
        time_machine.move_to(timezone.now(), tick=False)
        sign_in(client)
        time_machine.shift(301)
        response = client.post("/accounts/login/otp/", {"otp_token": next_code(secret, 10)})
        assert response["Location"] == "/accounts/login/"
        assert "not completed in time" in client.get("/accounts/login/").content.decode()
        assert SIGNED_IN not in client.get("/").content.decode()

    def test_replayed_totp_code_is_refused(self, enrolled):
        secret, _ = enrolled
        code = next_code(secret)
        first = Client()
        sign_in(first)
        first.post("/accounts/login/otp/", {"otp_token": code})
        assert SIGNED_IN in first.get("/").content.decode()
        second = Client()
        sign_in(second)
        response = second.post("/accounts/login/otp/", {"otp_token": code})
        assert "That code is not valid" in response.content.decode()
        assert SIGNED_IN not in second.get("/").content.decode()

    def test_a_throttled_attempt_asks_to_wait_and_is_not_counted(self, client, enrolled, time_machine):
        secret, _ = enrolled
        time_machine.move_to(timezone.now(), tick=False)  # a loaded machine must not let the throttle lapse
        sign_in(client)
        client.post("/accounts/login/otp/", {"otp_token": wrong_code(secret)})
        response = client.post("/accounts/login/otp/", {"otp_token": next_code(secret)})
        assert "Too many wrong codes: wait 1 second" in response.content.decode()
        assert AuditEvent.objects.filter(event="authn_login_fail").count() == 1
        time_machine.shift(2)
        client.post("/accounts/login/otp/", {"otp_token": next_code(secret)})
        assert SIGNED_IN in client.get("/").content.decode()

    def test_recovery_codes_are_not_case_sensitive(self, client, enrolled):
        _, codes = enrolled
        sign_in(client)
        client.post("/accounts/login/otp/", {"otp_token": codes[0].upper()})
        assert SIGNED_IN in client.get("/").content.decode()

    def test_recovery_code_works_once(self, enrolled):
        _, codes = enrolled
        first = Client()
        sign_in(first)
        first.post("/accounts/login/otp/", {"otp_token": codes[0]})
        assert SIGNED_IN in first.get("/").content.decode()
        second = Client()
        sign_in(second)
        second.post("/accounts/login/otp/", {"otp_token": codes[0]})
        assert SIGNED_IN not in second.get("/").content.decode()

    def test_guessing_codes_locks_like_failed_passwords(self, client, enrolled, time_machine):
        secret, _ = enrolled
        time_machine.move_to(timezone.now())
        sign_in(client)
        for _ in range(4):
            assert client.post("/accounts/login/otp/", {"otp_token": wrong_code(secret)}).status_code == 200
            time_machine.shift(20)  # past django-otp's growing wait (1, 2, 4, 8 s)
        assert client.post("/accounts/login/otp/", {"otp_token": wrong_code(secret)}).status_code == 429
        assert client.post("/accounts/login/otp/", {"otp_token": next_code(secret)}).status_code == 429
        assert AuditEvent.objects.filter(event="authn_login_lock", username="alice").exists()
