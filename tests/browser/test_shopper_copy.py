"""Copy and focus a shopper meets at sign-in and sign-out."""

import pytest
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD, CartFactory, CartItemFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_checkout_says_why_to_sign_in_and_a_failed_attempt_focuses_the_password(page: Page, live_server):
    UserFactory(username="dana")
    ProductFactory(name="Cedar Notebook", slug="cedar-notebook")
    page.goto(f"{live_server.url}/products/cedar-notebook/")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_test_id("cart-badge")).to_have_text("1")
    page.goto(f"{live_server.url}/cart/")
    page.get_by_role("link", name="Check out").click()
    page.get_by_test_id("checkout-sign-in").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to check out")
    expect(page.get_by_test_id("sign-in-reason")).to_contain_text("Your cart is kept")
    expect(page).to_have_title("Sign in to check out · shopdemo")
    expect(page.get_by_label("Username")).to_be_focused()

    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill("not-my-password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username and password")
    # The username is kept; the password is what to type again.
    expect(page.get_by_label("Username")).to_have_value("dana")
    expect(page.get_by_label("Password")).to_be_focused()

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your order")


def test_sign_out_says_so(page: Page, live_server):
    user = UserFactory(username="dana")
    CartItemFactory(cart=CartFactory(user=user), product=ProductFactory(name="Ember Candle"))
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_test_id("cart-badge")).to_have_text("1")

    page.get_by_role("banner").get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(f"{live_server.url}/accounts/signed-out/")
    expect(page.get_by_role("heading", level=1)).to_have_text("You are signed out")
    expect(page.get_by_role("status")).to_contain_text("Your cart is kept with your account")
    expect(page.get_by_test_id("auth-state")).to_have_text("Guest")
    expect(page.get_by_test_id("cart-badge")).to_have_text("0")
