"""A guest cart planted in the victim's browser, hoping the victim's sign-in carries it into their account.

Threat-model row: "A planted guest cart pushed into the victim's account". The attacker
has a browser of their own: they fill a guest cart there and set its session cookies (the
session and its same-site companion) in the victim's browser, by a sibling host over HTTP
or by hand at a shared computer. The defence: a guest cart follows a sign-in only from the
browser that started its session (accounts.flows.sign_in.started_in_this_browser).
"""

import pytest
from django.test import Client

from cart.models import Cart, CartItem
from cart.services import MSG_CART_LEFT_BEHIND
from tests.accounts.flows.test_email import register
from tests.accounts.flows.test_mfa import enrol, next_code
from tests.conftest import SESSION_COOKIE, is_signed_in, sign_in
from tests.factories import CartFactory, CartItemFactory, ProductFactory

pytestmark = pytest.mark.django_db

VICTIM_BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
ATTACKER_BROWSER = "curl/8.5"


def plant(product, *, attacker_browser=ATTACKER_BROWSER) -> tuple[Client, Client]:
    """The attacker's guest cart (3 of `product`), its session and same-site cookies set in the victim's browser."""
    attacker = Client(HTTP_USER_AGENT=attacker_browser)
    attacker.post("/cart/add/", {"product": product.pk, "quantity": 3})
    victim = Client(HTTP_USER_AGENT=VICTIM_BROWSER)
    for name in (SESSION_COOKIE, "sessionid_same_site"):
        victim.cookies[name] = attacker.cookies[name].value
    return attacker, victim


@pytest.fixture
def planted(product):
    return plant(product)


def account_lines(user) -> dict[str, int]:
    return dict(CartItem.objects.filter(cart__user=user).values_list("product__name", "quantity"))


def test_a_planted_guest_cart_is_not_carried_and_the_user_is_told(user, planted, clock):
    attacker, victim = planted
    victim.get("/")
    clock.shift(61)
    victim.get("/")  # activity saved by the victim's browser does not make the planted session its own
    page = sign_in(victim, follow=True).content.decode()
    assert not CartItem.objects.filter(cart__user=user).exists()
    assert MSG_CART_LEFT_BEHIND in page
    # The cart stays a guest's, and the planted key, rotated away by the sign-in, opens nothing.
    assert Cart.objects.get(user__isnull=True, status=Cart.Status.OPEN).items.get().quantity == 3
    assert not is_signed_in(attacker)


def test_a_planted_guest_cart_is_not_carried_through_the_code_step_either(user, planted):
    owner = Client(HTTP_USER_AGENT=VICTIM_BROWSER)
    sign_in(owner)
    secret, _ = enrol(owner)
    owner.post("/accounts/logout/")
    _, victim = planted
    sign_in(victim)
    page = victim.post("/accounts/login/otp/", {"otp_token": next_code(secret)}, follow=True).content.decode()
    assert not CartItem.objects.filter(cart__user=user).exists()
    assert MSG_CART_LEFT_BEHIND in page


def test_a_planted_guest_cart_is_not_carried_into_an_account_registered_in_the_victims_browser(planted):
    _, victim = planted
    page = victim.get(register(victim)["Location"]).content.decode()
    assert "Signed in as" in page
    assert not CartItem.objects.filter(cart__user__username="dana").exists()
    assert MSG_CART_LEFT_BEHIND in page


def test_the_victims_own_account_cart_is_left_as_it_was(user, planted):
    vase = ProductFactory(name="Tide Vase", stock=5)
    CartItemFactory(cart=CartFactory(user=user), product=vase, quantity=2)
    _, victim = planted
    sign_in(victim)
    assert account_lines(user) == {"Tide Vase": 2}
    assert victim.get("/cart/summary/").json()["count"] == 2


def test_the_browsers_own_guest_cart_is_still_carried_and_shown(user, product):
    shopper = Client(HTTP_USER_AGENT=VICTIM_BROWSER)
    shopper.post("/cart/add/", {"product": product.pk, "quantity": 2})
    page = sign_in(shopper, follow=True).content.decode()
    assert CartItem.objects.get(cart__user=user).quantity == 2
    assert "We carried your cart over: 2 × Basalt Mug." in page


def test_an_attacker_who_copies_the_victims_user_agent_too_has_every_carried_line_listed_at_sign_in(user, product):
    """The documented limit: the same user agent gets the lines in, but the victim reads each one at once."""
    _, victim = plant(product, attacker_browser=VICTIM_BROWSER)
    page = sign_in(victim, follow=True).content.decode()
    assert account_lines(user) == {"Basalt Mug": 3}
    assert "We carried your cart over: 3 × Basalt Mug." in page
