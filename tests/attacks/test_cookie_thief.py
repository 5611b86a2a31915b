"""The cookie thief: a fresh session's cookie and user agent, copied minutes after the owner signed in.

The thief knows neither the password nor a second factor. Within REAUTH_WINDOW
of the owner's sign-in they try every factor and address change; each asks for
the password (and the code) right then, so the owner keeps the account. The
window still covers the checkout, which needs no factor.
"""

import pytest
from django.conf import settings
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from django_otp_webauthn.models import WebAuthnCredential

from accounts.flows.mfa import totp_enabled
from accounts.models import EmailState, Session
from tests.accounts.flows.test_mfa import enrol, next_code
from tests.accounts.flows.test_passkeys import CHROME_LINUX, add_passkey
from tests.authenticator import ORIGIN
from tests.conftest import asks_for_the_factors, confirm_it_is_me, is_signed_in, sign_in
from tests.factories import PASSWORD, CartFactory, CartItemFactory

pytestmark = pytest.mark.django_db

THIEF_ADDRESS = "thief@evil.example"
MINUTES_AFTER_SIGN_IN = 120
NEW_PASSWORD = "thief-chosen-passphrase-3"


@pytest.fixture(autouse=True)
def test_client_origin(settings):
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [ORIGIN]


@pytest.fixture
def owner(user, clock):
    """alice with an authenticator app, recovery codes and a passkey, signed in on a laptop and a phone."""
    laptop = Client(HTTP_USER_AGENT=CHROME_LINUX)
    sign_in(laptop, user.username)
    secret, codes = enrol(laptop)
    add_passkey(laptop)
    laptop.post("/accounts/logout/")
    sign_in(laptop, user.username)
    laptop.post("/accounts/login/otp/", {"otp_token": next_code(secret)})
    phone = Client(HTTP_USER_AGENT="Phone/1.0")
    sign_in(phone, user.username)
    phone.post("/accounts/login/otp/", {"otp_token": codes[0]})
    assert is_signed_in(laptop) and is_signed_in(phone)
    return laptop, phone, codes


def steal(victim: Client) -> Client:
    """A second browser with the victim's cookies and user agent."""
    thief = Client(HTTP_USER_AGENT=CHROME_LINUX)
    for name, morsel in victim.cookies.items():
        thief.cookies[name] = morsel.value
    return thief


def critical_actions(user, phone_id):
    passkey = WebAuthnCredential.objects.get(user=user)
    return [
        ("/accounts/mfa/disable/", {}),
        ("/accounts/email/", {"email": THIEF_ADDRESS}),
        ("/accounts/password/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}),
        (f"/accounts/mfa/passkeys/{passkey.pk}/remove/", {}),
        ("/accounts/mfa/recovery-codes/", {}),
        ("/accounts/sessions/revoke-others/", {}),
        (f"/accounts/sessions/{phone_id}/revoke/", {}),
        ("/accounts/delete/", {"confirm_username": user.username}),
    ]


def test_every_factor_and_address_change_asks_the_thief_for_the_factors(owner, user, clock, mailoutbox):
    laptop, phone, codes = owner
    phone_id = Session.objects.filter(user=user, user_agent="Phone/1.0").get().public_id
    clock.shift(MINUTES_AFTER_SIGN_IN)
    assert MINUTES_AFTER_SIGN_IN < settings.REAUTH_WINDOW
    thief = steal(laptop)
    assert is_signed_in(thief)  # the stolen cookie does sign in
    mailed_before = len(mailoutbox)
    for path, data in critical_actions(user, phone_id):
        answer = thief.post(path, data)
        assert asks_for_the_factors(answer), path
    # What the owner keeps: every factor, the address, the password, the other device, the account.
    user.refresh_from_db()
    assert user.is_active and user.email == "alice@example.com" and user.check_password(PASSWORD)
    assert totp_enabled(user) and WebAuthnCredential.objects.filter(user=user).exists()
    assert set(codes[1:]) <= set(StaticToken.objects.filter(device__user=user).values_list("token", flat=True))
    assert not EmailState.objects.filter(user=user, pending=THIEF_ADDRESS).exists()
    assert not [mail for mail in mailoutbox[mailed_before:] if THIEF_ADDRESS in mail.to]
    assert is_signed_in(phone) and is_signed_in(laptop)


def test_the_thief_cannot_get_past_the_prompt_without_the_factors(owner, user, clock):
    laptop, _, _ = owner
    clock.shift(MINUTES_AFTER_SIGN_IN)
    thief = steal(laptop)
    thief.post("/accounts/mfa/disable/")
    for guess in ["password1", "alice123", PASSWORD]:  # even the password, without the code
        assert thief.post("/accounts/reauth/", {"password": guess, "next": "/accounts/"}).status_code == 200
    assert asks_for_the_factors(thief.post("/accounts/mfa/disable/"))
    assert totp_enabled(user)


def test_a_re_authentication_covers_one_change_only(owner, user, clock):
    """The owner confirms for one change; a thief copying the cookie after it gets no second one."""
    laptop, _, codes = owner
    confirm_it_is_me(laptop, otp_token=codes[1])
    assert laptop.post("/accounts/email/", {"email": "alice@new.example"})["Location"] == "/accounts/"
    thief = steal(laptop)
    assert asks_for_the_factors(thief.post("/accounts/mfa/disable/"))
    assert totp_enabled(user)


def test_the_window_after_sign_in_still_covers_the_checkout(owner, user, clock):
    laptop, _, _ = owner
    CartItemFactory(cart=CartFactory(user=user))
    clock.shift(MINUTES_AFTER_SIGN_IN)
    assert laptop.post("/checkout/", {"address": "1 Main St"})["Location"].startswith("/orders/")
