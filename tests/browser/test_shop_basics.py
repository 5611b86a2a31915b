"""Shopping on a phone: adding keeps your place, the cart's steppers save as they change, and
without script every form still works the plain way."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Browser, Page, expect

from cart.models import CartItem
from tests.browser.test_accessibility import HEIGHT, PHONE, SMALL_PHONE, _sign_in
from tests.factories import CartFactory, CartItemFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shelf():
    """Enough products that the catalog scrolls well past one screen on a phone."""
    return [
        ProductFactory(name=f"Shelf Item {index:02d}", slug=f"shelf-item-{index:02d}", price=Decimal("7.50"), stock=20)
        for index in range(16)
    ]


def _units(slug: str) -> int:
    return sum(CartItem.objects.filter(product__slug=slug).values_list("quantity", flat=True))


def test_adding_from_the_catalog_keeps_the_scroll_position_and_the_focus(page: Page, live_server, shelf):
    page.set_viewport_size({"width": PHONE, "height": HEIGHT[PHONE]})
    page.goto(live_server.url)
    button = page.get_by_test_id("add-shelf-item-14")
    button.scroll_into_view_if_needed()
    button.focus()
    before = page.evaluate("window.scrollY")
    assert before > 500  # far down the page

    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Added 1 × Shelf Item 14.")
    expect(page.get_by_test_id("cart-badge")).to_have_text("1")
    assert page.evaluate("window.scrollY") == before
    assert page.evaluate("document.activeElement.dataset.testid") == "add-shelf-item-14"
    # The badge's header stays on screen (sticky), and the toast offers the cart.
    assert page.get_by_role("banner").bounding_box()["y"] == 0
    expect(page.get_by_role("status").get_by_role("link", name="View cart")).to_be_visible()

    # The page's one form gets a fresh request id with each answer: the next add is a new add.
    page.get_by_test_id("add-shelf-item-13").click()
    expect(page.get_by_role("status")).to_contain_text("Added 1 × Shelf Item 13.")
    page.get_by_test_id("add-shelf-item-14").click()
    expect(page.get_by_test_id("cart-badge")).to_have_text("3")
    assert (_units("shelf-item-14"), _units("shelf-item-13")) == (2, 1)
    assert page.evaluate("window.scrollY") == before


def test_the_toast_is_a_live_region_that_was_there_before_it_spoke(page: Page, live_server, shelf):
    page.goto(f"{live_server.url}/products/shelf-item-03/")
    region = page.locator("[data-toast]")
    expect(region).to_have_attribute("role", "status")
    expect(region).to_be_empty()
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    expect(region).to_contain_text("Added 2 × Shelf Item 03.")
    expect(page).to_have_url(f"{live_server.url}/products/shelf-item-03/")  # no navigation
    expect(page.get_by_text("2 in your cart; you can add 8 more")).to_be_visible()
    expect(page.get_by_label("Quantity")).to_have_attribute("max", "8")


def test_without_script_adding_is_the_plain_post_and_redirect(browser: Browser, live_server, shelf):
    context = browser.new_context(java_script_enabled=False, viewport={"width": PHONE, "height": HEIGHT[PHONE]})
    page = context.new_page()
    try:
        page.goto(live_server.url)
        page.get_by_test_id("add-shelf-item-14").click()
        expect(page).to_have_url(f"{live_server.url}/")  # back where the form said, after a reload
        expect(page.get_by_role("status")).to_contain_text("Added 1 × Shelf Item 14.")
        expect(page.get_by_test_id("cart-badge")).to_have_text("1")
        page.get_by_role("status").get_by_role("link", name="View cart").click()
        quantity = page.get_by_label("Quantity of Shelf Item 14")
        quantity.fill("3")
        page.get_by_role("button", name="Update").click()
        expect(page.get_by_role("status")).to_contain_text("Your cart now holds 3 × Shelf Item 14.")
        assert _units("shelf-item-14") == 3
    finally:
        context.close()


def test_cart_steppers_save_as_they_change_and_update_the_sums(page: Page, live_server, shelf):
    page.set_viewport_size({"width": SMALL_PHONE, "height": HEIGHT[SMALL_PHONE]})
    page.goto(f"{live_server.url}/products/shelf-item-01/")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_test_id("cart-badge")).to_have_text("1")
    page.goto(f"{live_server.url}/cart/")
    expect(page.get_by_role("button", name="Update")).to_be_hidden()  # the steppers save by themselves
    expect(page.get_by_test_id("cart-shipping")).to_have_text("€4.90")

    page.get_by_role("button", name="One more Shelf Item 01").click()
    expect(page.get_by_test_id("cart-badge")).to_have_text("2")
    expect(page.get_by_test_id("cart-total")).to_have_text("€19.90")  # 2 × 7.50 + 4.90
    assert _units("shelf-item-01") == 2

    page.get_by_label("Quantity of Shelf Item 01").fill("7")
    page.get_by_label("Quantity of Shelf Item 01").press("Tab")
    expect(page.get_by_test_id("cart-shipping")).to_have_text("Free")  # 52.50: over SHIPPING_FREE_FROM
    expect(page.get_by_test_id("cart-total")).to_have_text("€52.50")
    assert _units("shelf-item-01") == 7

    page.get_by_role("button", name="One fewer Shelf Item 01").click()
    expect(page.get_by_test_id("cart-badge")).to_have_text("6")
    saves = []
    page.on(
        "request", lambda request: saves.append(request.post_data) if request.url.endswith("/cart/update/") else None
    )
    page.get_by_label("Quantity of Shelf Item 01").fill("0")
    page.get_by_label("Quantity of Shelf Item 01").press("Enter")  # "change" and "submit" both fire
    expect(page.get_by_role("heading", name="Your cart is empty.")).to_be_visible()
    assert _units("shelf-item-01") == 0
    assert len(saves) == 1  # sent once: a second remove would race the first and find the line gone


def test_checkout_waits_for_a_typed_quantity_and_refuses_a_bad_one(page: Page, live_server, shelf):
    user = UserFactory(username="tess")
    CartItemFactory(cart=CartFactory(user=user), product=shelf[2], quantity=1)
    _sign_in(page, live_server.url, "tess", next_path="/cart/")

    quantity = page.get_by_label("Quantity of Shelf Item 02")
    quantity.fill("5")  # typed, not yet saved: no change event until the field is left
    page.get_by_role("link", name="Check out").click()
    expect(page).to_have_url(f"{live_server.url}/checkout/")
    expect(page.get_by_test_id("qty-shelf-item-02")).to_have_text("5")

    page.goto(f"{live_server.url}/cart/")
    quantity.evaluate("input => input.removeAttribute('max')")  # as an outdated page would
    quantity.fill("11")
    page.get_by_role("link", name="Check out").click()
    expect(page.get_by_role("alert")).to_have_text(re.compile("Quantity must be a whole number from 1 to 10"))
    expect(page).to_have_url(f"{live_server.url}/cart/")
    assert _units("shelf-item-02") == 5


@pytest.mark.parametrize("signed_in", [False, True])
def test_the_header_is_one_row_on_a_360px_phone_and_stays_on_screen(page: Page, live_server, shelf, signed_in):
    page.set_viewport_size({"width": SMALL_PHONE, "height": HEIGHT[SMALL_PHONE]})
    if signed_in:
        UserFactory(username="jane390")
        _sign_in(page, live_server.url, "jane390")
    page.goto(live_server.url)
    header = page.get_by_role("banner")
    assert header.bounding_box()["height"] <= 48  # one row of 44 px tap targets
    expect(header.get_by_role("link", name=re.compile("^Cart"))).to_be_visible()
    if signed_in:
        expect(header.get_by_role("button", name="Sign out")).to_be_visible()  # on every signed-in page
        expect(header.get_by_role("link", name="Devices")).to_have_count(0)  # in the account area now
    else:
        assert header.get_by_test_id("auth-state").bounding_box()["width"] <= 1  # no "Guest" pill; "Sign in" says it
        expect(header.get_by_role("link", name="Sign in")).to_be_visible()
    page.evaluate("window.scrollTo(0, 2000)")
    assert page.evaluate("window.scrollY") > 1000
    assert header.bounding_box()["y"] == 0


def test_typing_the_checkout_address_tells_the_server_the_shopper_is_there(page: Page, live_server, shelf):
    user = UserFactory(username="uma")
    CartItemFactory(cart=CartFactory(user=user), product=shelf[0], quantity=1)
    page.clock.install()  # the page's timers and Date, moved by the test instead of waited for
    _sign_in(page, live_server.url, "uma", next_path="/checkout/")
    extends = []
    page.on("request", lambda r: extends.append(r) if r.method == "POST" and "/session/extend/" in r.url else None)
    address = page.get_by_test_id("address")

    address.press_sequentially("1 Quay")
    assert extends == []  # the page load was activity a moment ago: nothing to tell yet

    page.clock.fast_forward(61_000)
    with page.expect_response(lambda r: "/session/extend/" in r.url) as extended:
        address.press_sequentially(" Street")
    assert extended.value.ok and extended.value.json()["authenticated"] is True
    assert len(extends) == 1  # once a minute at most, not once a key


LINES_OF_TEXT = """th => { const range = document.createRange(); range.selectNodeContents(th);
    return new Set([...range.getClientRects()].map(rect => Math.round(rect.top))).size; }"""


def test_the_devices_table_keeps_ip_address_on_one_line_on_a_desktop(page: Page, live_server):
    UserFactory(username="vera")
    page.set_viewport_size({"width": 1280, "height": 800})
    _sign_in(page, live_server.url, "vera", next_path="/accounts/sessions/")
    assert page.get_by_role("columnheader", name="IP address").evaluate(LINES_OF_TEXT) == 1
