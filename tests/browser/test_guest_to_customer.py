"""The flow from guest to signed-in buyer, as a real browser sees it."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import SESSION_COOKIE
from tests.factories import PASSWORD, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _cookie(context, name):
    return next((cookie for cookie in context.cookies() if cookie["name"] == name), None)


def _add_from_catalog(page: Page, slug: str, name: str, *, badge: str) -> None:
    """Click a product's "Add to cart" on the catalog and wait until the badge shows `badge`."""
    page.get_by_test_id(f"add-{slug}").click()
    # `next` brings the shopper back to the catalog, with the count updated.
    expect(page.get_by_role("heading", name="Catalog")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(f"Added 1 × {name}.")
    expect(page.get_by_role("status").get_by_role("link", name="View cart")).to_have_attribute("href", "/cart/")
    expect(page.get_by_test_id("cart-badge")).to_have_text(badge)


def test_guest_adds_two_products_registers_and_checks_out(page: Page, live_server):
    mug = ProductFactory(name="Basalt Mug", slug="basalt-mug", price=Decimal("12.50"), stock=20)
    apron = ProductFactory(name="Linen Apron", slug="linen-apron", price=Decimal("24.00"), stock=20)

    page.goto(f"{live_server.url}/")
    expect(page.get_by_test_id("auth-state")).to_have_text("Guest")
    expect(page.get_by_test_id("cart-badge")).to_have_text("0")
    # Browsing alone gives no session.
    assert _cookie(page.context, SESSION_COOKIE) is None

    _add_from_catalog(page, mug.slug, mug.name, badge="1")
    expect(page).to_have_url(f"{live_server.url}/")
    session_cookie = _cookie(page.context, SESSION_COOKIE)
    assert session_cookie is not None, "the first add-to-cart must start a session"
    assert session_cookie["httpOnly"] is True
    assert session_cookie["sameSite"] == "Lax"
    assert _cookie(page.context, "sessionid_same_site")["sameSite"] == "Strict"
    _add_from_catalog(page, apron.slug, apron.name, badge="2")

    page.get_by_role("link", name=re.compile(r"^Cart")).click()
    expect(page).to_have_url(f"{live_server.url}/cart/")
    expect(page.get_by_test_id(f"line-{mug.slug}")).to_contain_text("Basalt Mug")
    expect(page.get_by_test_id(f"line-{apron.slug}")).to_contain_text("Linen Apron")
    expect(page.get_by_test_id("cart-total")).to_have_text("€41.40")  # €36.50 and €4.90 shipping

    page.get_by_role("link", name="Check out").click()
    # Signing in (or registering) from checkout keeps the way back to it.
    expect(page).to_have_url(f"{live_server.url}/checkout/")
    page.get_by_test_id("checkout-sign-in").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/checkout/")
    page.get_by_role("link", name="Create an account").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/register/?next=/checkout/")

    page.get_by_label("Username").fill("carol")
    page.get_by_label("Email").fill("carol@example.com")
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    page.get_by_role("button", name="Register").click()

    expect(page).to_have_url(f"{live_server.url}/checkout/")
    messages = page.get_by_role("status")
    expect(messages).to_contain_text("Welcome, carol: your account is ready.")
    expect(messages).to_contain_text("We carried your cart over: 1 × Basalt Mug, 1 × Linen Apron.")
    expect(page.get_by_test_id("auth-state")).to_have_text("Signed in as carol")
    expect(page.get_by_test_id("cart-badge")).to_have_text("2")
    expect(page.get_by_test_id(f"line-{mug.slug}")).to_contain_text("Basalt Mug")
    expect(page.get_by_test_id(f"qty-{mug.slug}")).to_have_text("1")
    expect(page.get_by_test_id(f"line-{apron.slug}")).to_contain_text("Linen Apron")
    expect(page.get_by_test_id(f"qty-{apron.slug}")).to_have_text("1")
    expect(page.get_by_test_id("cart-total")).to_have_text("€41.40")

    page.get_by_test_id("place-order").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server.url)}/orders/[A-Z0-9]+/$"))
    number = page.url.rstrip("/").rsplit("/", 1)[1]
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {number}")
    expect(page.get_by_role("status")).to_contain_text(f"Thank you! Order {number} is placed.")
    expect(page.get_by_test_id("order-total")).to_have_text("€36.50")  # no address: collected, no shipping
    expect(page.get_by_role("row", name=re.compile("Basalt Mug"))).to_contain_text("€12.50")
    expect(page.get_by_role("row", name=re.compile("Linen Apron"))).to_contain_text("€24.00")
    expect(page.get_by_test_id("cart-badge")).to_have_text("0")

    page.get_by_role("link", name="Orders", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/orders/")
    orders = page.locator("ul.orders > li")
    expect(orders).to_have_count(1)
    expect(orders.first).to_contain_text(f"Order {number}")
    expect(orders.first).to_contain_text("2 lines")
    expect(orders.first).to_contain_text("€36.50")
    expect(page.get_by_test_id("cart-badge")).to_have_text("0")


def _sign_in(page: Page, username: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    remember = page.get_by_label("Remember me on this device")
    expect(remember).not_to_be_checked()
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_test_id("auth-state")).to_have_text(f"Signed in as {username}")


def test_cart_survives_sign_in_and_sign_out_keeps_account_cart(page: Page, live_server, browser):
    user = UserFactory(username="dave")
    mug = ProductFactory(name="Basalt Mug", slug="basalt-mug", price=Decimal("12.50"), stock=20)
    ProductFactory(name="Linen Apron", slug="linen-apron", price=Decimal("24.00"), stock=20)

    page.goto(f"{live_server.url}/")
    expect(page.get_by_test_id("auth-state")).to_have_text("Guest")
    _add_from_catalog(page, mug.slug, mug.name, badge="1")

    page.get_by_role("banner").get_by_role("link", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/")
    _sign_in(page, user.username)
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("status")).to_contain_text("We carried your cart over: 1 × Basalt Mug.")
    expect(page.get_by_test_id("cart-badge")).to_have_text("1")
    # Without "remember me" the cookie lives only as long as the browser.
    assert _cookie(page.context, SESSION_COOKIE)["expires"] == -1

    page.get_by_role("link", name=re.compile(r"^Cart")).click()
    expect(page.get_by_test_id(f"line-{mug.slug}")).to_contain_text("Basalt Mug")
    expect(page.get_by_label("Quantity of Basalt Mug")).to_have_value("1")
    expect(page.get_by_test_id("cart-total")).to_have_text("€17.40")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_test_id("auth-state")).to_have_text("Guest")
    expect(page.get_by_test_id("cart-badge")).to_have_text("0")
    assert _cookie(page.context, SESSION_COOKIE) is None
    page.goto(f"{live_server.url}/cart/")
    expect(page.get_by_text("Your cart is empty.")).to_be_visible()

    # Another browser (nothing shared with the first): the cart is the account's, on the server.
    other = browser.new_context()
    try:
        other_page = other.new_page()
        other_page.goto(f"{live_server.url}/")
        expect(other_page.get_by_test_id("auth-state")).to_have_text("Guest")
        expect(other_page.get_by_test_id("cart-badge")).to_have_text("0")
        other_page.get_by_role("banner").get_by_role("link", name="Sign in").click()
        _sign_in(other_page, user.username)
        expect(other_page.get_by_test_id("cart-badge")).to_have_text("1")
        other_page.goto(f"{live_server.url}/cart/")
        expect(other_page.get_by_test_id(f"line-{mug.slug}")).to_contain_text("Basalt Mug")
        expect(other_page.get_by_label("Quantity of Basalt Mug")).to_have_value("1")
        expect(other_page.get_by_test_id("cart-total")).to_have_text("€17.40")
    finally:
        other.close()
