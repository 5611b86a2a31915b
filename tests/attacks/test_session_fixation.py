"""Session fixation: a key planted in the victim's browser, then waited on.

The attacker starts a guest session of their own (or invents a key) and sets its
cookies in the victim's browser (a shared computer, a sibling host without the
`__Host-` prefix, an injected header), then keeps presenting the same key, hoping
it becomes the victim's signed-in session. A copy of the victim's key taken at one
step is tried after the next one too: the code step of an MFA sign-in, a
re-authentication, a password or MFA change. Every one of these steps gives a new
key, and a key the server did not issue is never adopted, so the attacker's key
stays a guest's while the victim is signed in.
"""

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import EmailState, Session, hash_key
from tests.accounts.flows.test_mfa import enrol, next_code
from tests.conftest import SESSION_COOKIE, confirm_it_is_me, is_signed_in, sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

VICTIM_BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
ATTACKER_ADDRESS = "thief@evil.example"
INVENTED_KEY = "attackerchosenkey0000000000000000"


def copy_of(browser: Client) -> Client:
    """The attacker's browser holding the cookies of `browser` as they are now."""
    attacker = Client(HTTP_USER_AGENT=VICTIM_BROWSER)
    for name, morsel in browser.cookies.items():
        attacker.cookies[name] = morsel.value
    return attacker


def guest_page(client: Client) -> bool:
    return 'data-testid="auth-state">Guest' in client.get("/").content.decode()


@pytest.fixture
def planted(user, product):
    """The attacker's guest session, a line in its cart, its cookies set in the victim's browser."""
    attacker = Client(HTTP_USER_AGENT=VICTIM_BROWSER)
    attacker.post("/cart/add/", {"product": product.pk})
    victim = Client(HTTP_USER_AGENT=VICTIM_BROWSER)
    for name in (SESSION_COOKIE, settings.SESSION_SAME_SITE_COOKIE_NAME):
        victim.cookies[name] = attacker.cookies[name].value
    return attacker, victim


@pytest.fixture
def secret(user):
    """alice has turned on an authenticator app."""
    owner = Client(HTTP_USER_AGENT=VICTIM_BROWSER)
    sign_in(owner)
    secret, _ = enrol(owner)
    owner.post("/accounts/logout/")
    return secret


def test_a_key_planted_before_sign_in_stays_a_guests(planted):
    attacker, victim = planted
    planted_key = attacker.cookies[SESSION_COOKIE].value
    assert sign_in(victim).status_code == 302
    assert victim.cookies[SESSION_COOKIE].value != planted_key
    assert not Session.objects.filter(session_key=hash_key(planted_key)).exists()
    assert guest_page(attacker) and attacker.get("/cart/summary/").json()["count"] == 0
    assert attacker.get("/orders/")["Location"].startswith("/accounts/login/")
    assert is_signed_in(victim)


def test_the_password_step_gives_a_new_key_and_the_planted_one_reaches_no_code_step(secret, planted):
    attacker, victim = planted
    planted_key = attacker.cookies[SESSION_COOKIE].value
    response = sign_in(victim)
    assert response["Location"].startswith("/accounts/login/otp/")
    assert victim.cookies[SESSION_COOKIE].value != planted_key
    assert not Session.objects.filter(pk=hash_key(planted_key)).exists()
    assert attacker.get("/accounts/login/otp/")["Location"] == "/accounts/login/"
    victim.post("/accounts/login/otp/", {"otp_token": next_code(secret)})
    assert is_signed_in(victim)
    assert not is_signed_in(attacker)


def test_a_key_copied_at_the_code_step_is_not_signed_in_by_the_code(secret, user):
    victim = Client(HTTP_USER_AGENT=VICTIM_BROWSER)
    sign_in(victim)
    attacker = copy_of(victim)  # the pending key, between the password and the code
    victim.post("/accounts/login/otp/", {"otp_token": next_code(secret)})
    assert victim.cookies[SESSION_COOKIE].value != attacker.cookies[SESSION_COOKIE].value
    assert is_signed_in(victim)
    assert not is_signed_in(attacker)
    assert attacker.post("/accounts/login/otp/", {"otp_token": next_code(secret, 2)})["Location"] == "/accounts/login/"
    assert not is_signed_in(attacker)


def test_a_key_copied_before_a_re_authentication_does_not_share_its_window(signed_in, user):
    attacker = copy_of(signed_in)
    confirm_it_is_me(signed_in)
    assert not is_signed_in(attacker)
    attacker.post("/accounts/email/", {"email": ATTACKER_ADDRESS})
    user.refresh_from_db()
    assert user.email == "alice@example.com"
    assert not EmailState.objects.filter(user=user, pending=ATTACKER_ADDRESS).exists()
    assert signed_in.post("/accounts/email/", {"email": "alice@new.example"})["Location"] == "/accounts/"


def test_a_key_copied_before_a_password_change_is_refused_after_it(signed_in):
    attacker = copy_of(signed_in)
    confirm_it_is_me(signed_in)
    new = "another-long-passphrase"
    form = {"old_password": PASSWORD, "new_password1": new, "new_password2": new, "keep_other_sessions": "on"}
    assert signed_in.post("/accounts/password/", form)["Location"] == "/accounts/sessions/"
    assert not is_signed_in(attacker)
    assert is_signed_in(signed_in)


def test_a_key_copied_before_mfa_is_turned_on_is_refused_after_it(signed_in):
    attacker = copy_of(signed_in)
    enrol(signed_in)
    assert not is_signed_in(attacker)
    assert is_signed_in(signed_in)


def test_an_invented_key_is_never_adopted(user, product):
    victim = Client(HTTP_USER_AGENT=VICTIM_BROWSER)
    victim.cookies[SESSION_COOKIE] = INVENTED_KEY
    victim.get("/")
    victim.post("/cart/add/", {"product": product.pk})  # the first write gives the browser a session
    assert victim.cookies[SESSION_COOKIE].value not in ("", INVENTED_KEY)
    sign_in(victim)
    assert victim.cookies[SESSION_COOKIE].value != INVENTED_KEY
    assert not Session.objects.filter(session_key=hash_key(INVENTED_KEY)).exists()
    attacker = Client(HTTP_USER_AGENT=VICTIM_BROWSER)
    attacker.cookies[SESSION_COOKIE] = INVENTED_KEY
    assert guest_page(attacker) and attacker.get("/cart/summary/").json()["count"] == 0
    assert is_signed_in(victim) and victim.get("/cart/summary/").json()["count"] == 1
