"""A key planted in the victim's browser never reaches the code step (its cart: tests/attacks/test_planted_cart.py)."""

import pytest
from django.test import Client

from accounts.models import Session, hash_key
from tests.accounts.flows.test_mfa import enrol, next_code
from tests.conftest import SESSION_COOKIE, sign_in

pytestmark = pytest.mark.django_db

VICTIM_BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
ATTACKER_BROWSER = "curl/8.5"


@pytest.fixture
def secret(user):
    owner = Client(HTTP_USER_AGENT=VICTIM_BROWSER)
    sign_in(owner)
    secret, _ = enrol(owner)
    owner.post("/accounts/logout/")
    return secret


@pytest.fixture
def planted(product):
    """An attacker's guest session with a cart, its session and same-site cookies set in the victim's browser."""
    attacker = Client(HTTP_USER_AGENT=ATTACKER_BROWSER)
    attacker.post("/cart/add/", {"product": product.pk, "quantity": 3})
    victim = Client(HTTP_USER_AGENT=VICTIM_BROWSER)
    for name in (SESSION_COOKIE, "sessionid_same_site"):
        victim.cookies[name] = attacker.cookies[name].value
    return attacker, victim


def test_the_password_step_gives_a_new_key_and_the_planted_one_reaches_no_code_step(secret, planted):
    attacker, victim = planted
    planted_key = attacker.cookies[SESSION_COOKIE].value
    response = sign_in(victim)
    assert response["Location"].startswith("/accounts/login/otp/")
    assert victim.cookies[SESSION_COOKIE].value != planted_key
    assert not Session.objects.filter(pk=hash_key(planted_key)).exists()
    assert attacker.get("/accounts/login/otp/")["Location"] == "/accounts/login/"
    victim.post("/accounts/login/otp/", {"otp_token": next_code(secret)})
    assert "Signed in as" in victim.get("/").content.decode()
    assert "Signed in as" not in attacker.get("/").content.decode()
