"""A guest's whole path on a 360 px phone: order without an account, the mailed link elsewhere, then the account."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from cart.models import Order
from tests.browser.axe import horizontal_overflow
from tests.factories import PASSWORD, ProductFactory
from tests.servers import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

ORDER_LINK = re.compile(r"http://[^/\s]+(/orders/[A-Z0-9]+/link/[^/\s]+/)")


def fits(page: Page) -> None:
    assert horizontal_overflow(page) == 0, f"{page.url} scrolls sideways"


def test_a_guest_orders_opens_the_mailed_link_elsewhere_and_makes_the_account(
    page: Page, live_server, browser, mailoutbox
):
    mug = ProductFactory(name="Basalt Mug", slug="basalt-mug", price=Decimal("12.50"), stock=20)
    base = live_server.url
    page.set_viewport_size({"width": 360, "height": 740})

    # Browse and add.
    page.goto(f"{base}/products/{mug.slug}/")
    page.get_by_test_id(f"add-{mug.slug}").click()
    expect(page.get_by_test_id("cart-badge")).to_have_text("1")

    # Checkout: the lines and the total, and the two ways on.
    page.goto(f"{base}/cart/")
    page.get_by_role("link", name="Check out").click()
    expect(page).to_have_url(f"{base}/checkout/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your order")
    expect(page.get_by_test_id(f"line-{mug.slug}")).to_contain_text("Basalt Mug")
    expect(page.get_by_test_id("checkout-sign-in")).to_have_attribute("href", "/accounts/login/?next=/checkout/")
    expect(page.get_by_role("heading", name="Continue as guest")).to_be_visible()
    fits(page)

    # A mistyped address: the form again, with the message.
    page.get_by_label("Email").fill("gwen@")
    page.get_by_test_id("place-guest-order").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter a valid email address")
    page.get_by_label("Email").fill("gwen@example.com")
    page.get_by_label("Delivery address").fill("1 Quay Street\nPortsmouth")
    page.get_by_test_id("place-guest-order").click()

    # The order page, for this browser.
    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/orders/[A-Z0-9]+/$"))
    number = page.url.rstrip("/").rsplit("/", 1)[1]
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {number}")
    expect(page.get_by_role("status")).to_contain_text(f"Thank you! Order {number} is placed.")
    expect(page.get_by_test_id("order-total")).to_have_text("€17.40")  # €12.50 and €4.90 shipping
    expect(page.get_by_test_id("order-email")).to_have_text("gwen@example.com")
    expect(page.get_by_test_id("cart-badge")).to_have_text("0")
    fits(page)

    # The mail's link, in another browser: the order, without signing in.
    wait_until(lambda: mailoutbox, "the order mail")
    (mail,) = mailoutbox
    assert mail.to == ["gwen@example.com"] and "1 x Basalt Mug at €12.50: €12.50" in mail.body
    link = ORDER_LINK.search(mail.body).group(1)
    other = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        elsewhere = other.new_page()
        elsewhere.goto(base + link)
        expect(elsewhere.get_by_role("heading", level=1)).to_have_text(f"Order {number}")
        expect(elsewhere.get_by_test_id("auth-state")).to_have_text("Guest")
        # ...but not the order's own page: that is for the browser that placed it.
        elsewhere.goto(f"{base}/orders/{number}/")
        expect(elsewhere).to_have_url(re.compile(r"/accounts/login/"))
    finally:
        other.close()

    # Create the account from the confirmation page: the address is filled in, the order is the account's.
    page.get_by_test_id("create-account").click()
    expect(page.get_by_label("Email")).to_have_value("gwen@example.com")
    page.get_by_label("Username").fill("gwen")
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    fits(page)
    page.get_by_role("button", name="Register").click()
    expect(page).to_have_url(f"{base}/orders/")
    expect(page.get_by_test_id("auth-state")).to_have_text("Signed in as gwen")
    orders = page.locator("ul.orders > li")
    expect(orders).to_have_count(1)
    expect(orders.first).to_contain_text(f"Order {number}")
    fits(page)
    assert Order.objects.get(number=number).user.username == "gwen"
    wait_until(lambda: len(mailoutbox) >= 2, "the confirmation mail")
    assert mailoutbox[1].subject == "[shopdemo] Confirm your email address"
