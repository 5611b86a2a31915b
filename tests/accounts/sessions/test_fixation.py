"""A key planted in the victim's browser brings no cart (tests/attacks/test_session_fixation.py: the key itself)."""

import pytest
from django.test import Client

from cart.models import CartItem
from cart.services import MSG_CART_LEFT_BEHIND
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


def test_a_planted_guest_cart_is_not_carried_and_the_user_is_told(user, planted, clock):
    _, victim = planted
    victim.get("/")
    clock.shift(61)
    victim.get("/")  # activity saved by the victim's browser does not make the planted session its own
    page = sign_in(victim, follow=True).content.decode()
    assert not CartItem.objects.filter(cart__user=user).exists()
    assert MSG_CART_LEFT_BEHIND in page


def test_a_planted_guest_cart_is_not_carried_through_the_code_step_either(user, secret, planted):
    _, victim = planted
    sign_in(victim)
    page = victim.post("/accounts/login/otp/", {"otp_token": next_code(secret)}, follow=True).content.decode()
    assert not CartItem.objects.filter(cart__user=user).exists()
    assert MSG_CART_LEFT_BEHIND in page


def test_the_browsers_own_guest_cart_is_still_carried_and_shown(user, product):
    shopper = Client(HTTP_USER_AGENT=VICTIM_BROWSER)
    shopper.post("/cart/add/", {"product": product.pk, "quantity": 2})
    page = sign_in(shopper, follow=True).content.decode()
    assert CartItem.objects.get(cart__user=user).quantity == 2
    assert "We carried your cart over: 2 × Basalt Mug." in page
