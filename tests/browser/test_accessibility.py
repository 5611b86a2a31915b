"""Every page, as a phone and a desktop show it: zero axe-core violations of any impact, and no
sideways scroll on a 360 px phone.

Each test walks a list of pages (a guest's, a signed-in shopper's, the admin's) at one width
and reports every failing node of every page at once, so one run shows all there is to fix.
"""

import itertools
import re
from decimal import Decimal

import pytest
from django.contrib import admin
from playwright.sync_api import Page, expect

from accounts.models import Session
from tests.browser.axe import axe_violations, horizontal_overflow, install_axe
from tests.factories import (
    PASSWORD,
    CartFactory,
    CartItemFactory,
    CategoryFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)

DESKTOP, PHONE, SMALL_PHONE = 1280, 390, 360
HEIGHT = {DESKTOP: 800, PHONE: 844, SMALL_PHONE: 740}


@pytest.fixture
def shop():
    lighting = CategoryFactory(name="Lighting", slug="lighting")
    kitchen = CategoryFactory(name="Kitchen & table", slug="kitchen-table")
    lamp = ProductFactory(name="Aurora Desk Lamp", slug="aurora-desk-lamp", category=lighting, price=Decimal("39.90"))
    ProductFactory(name="Ember Candle", slug="ember-candle", category=lighting, stock=3)
    bowl = ProductFactory(name="Kiln Serving Bowl", slug="kiln-serving-bowl", category=kitchen, stock=1)
    ProductFactory(name="Meadow Seed Kit", slug="meadow-seed-kit", category=kitchen, stock=0)
    ProductFactory(name="Indigo Linen Napkins With A Rather Long Name", slug="indigo-linen-napkins", category=kitchen)
    return {"lamp": lamp, "bowl": bowl}


def _sign_in(page: Page, base: str, username: str, *, next_path: str = "/") -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(base + next_path)


def _guest_pages(page: Page, base: str, shop):
    """Visit each page a guest meets (some after an action); yield a label for each."""
    for path in ["/", "/?q=lamp", "/?q=submarine", "/?category=lighting&sort=-price", "/?sort=colour"]:
        page.goto(base + path)
        yield "catalog"
    page.goto(f"{base}/products/{shop['lamp'].slug}/")
    yield "product"
    page.goto(f"{base}/no-such-page/")
    yield "404"
    page.goto(f"{base}/cart/")
    yield "empty cart"
    page.goto(f"{base}/session/")
    yield "session inspector, no session"
    page.goto(f"{base}/products/{shop['bowl'].slug}/")
    page.get_by_label("Quantity").evaluate("input => input.removeAttribute('max')")  # as an outdated page would
    page.get_by_label("Quantity").fill("3")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("alert")).to_be_visible()
    yield "product, refused add"
    page.goto(f"{base}/products/{shop['bowl'].slug}/")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_test_id("cart-badge")).to_have_text("1")
    yield "product, added"
    page.goto(f"{base}/cart/")
    yield "cart"
    page.goto(f"{base}/session/")
    yield "session inspector, guest"
    page.goto(f"{base}/checkout/")
    yield "guest checkout"
    page.get_by_label("Email").fill("not-an-address")
    page.get_by_role("button", name=re.compile("^Place order")).click()
    yield "guest checkout, errors"
    page.goto(f"{base}/accounts/login/?next=/checkout/")
    yield "sign-in"
    page.get_by_label("Username").fill("nobody")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    yield "sign-in, failed"
    page.goto(f"{base}/accounts/register/")
    yield "register"
    page.get_by_role("button", name="Register").click()
    yield "register, errors"
    page.get_by_label("Username").fill("newcomer")
    page.get_by_label("Email").fill("newcomer@example.com")
    page.get_by_role("button", name="Create account with a passkey").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create your passkey")
    yield "register, passkey step"
    page.goto(f"{base}/accounts/password/reset/")
    yield "password reset"


def _shopper_pages(page: Page, base: str, shop):
    """Visit each page a signed-in shopper meets; yield a label for each."""
    user = UserFactory(username="dana")
    cart = CartFactory(user=user)
    CartItemFactory(cart=cart, product=shop["lamp"], quantity=2)
    CartItemFactory(cart=cart, product=shop["bowl"], quantity=1)
    order = OrderFactory(user=user, number="K7WQ2MZ4PA", address="1 Harbour Street\nPortsmouth")
    OrderLineFactory(order=order, product=shop["lamp"], product_name="Aurora Desk Lamp", quantity=2)
    _sign_in(page, base, "dana")
    for path, label in [
        ("/", "catalog"),
        (f"/products/{shop['lamp'].slug}/", "product"),
        ("/cart/", "cart"),
        ("/checkout/", "checkout"),
        ("/orders/", "orders"),
        (f"/orders/{order.number}/", "order"),
        ("/session/", "session inspector"),
        ("/accounts/", "account"),
        ("/accounts/sessions/", "devices"),
        ("/accounts/mfa/", "MFA enrolment"),
        ("/accounts/reauth/?next=/accounts/", "re-authentication"),
    ]:
        page.goto(base + path)
        yield label
    # The password page asks for the password first, every time.
    page.goto(f"{base}/accounts/password/")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{base}/accounts/password/")
    yield "password change"


def _admin_pages(page: Page, base: str):
    UserFactory(username="operator", is_staff=True, is_superuser=True)
    _sign_in(page, base, "operator", next_path="/admin/")
    for path, label in [
        ("/admin/", "admin index"),
        ("/admin/dashboard/", "admin dashboard"),
        ("/admin/accounts/session/", "admin sessions list"),
    ]:
        page.goto(base + path)
        yield label


def _every_admin_page(page: Page, base: str, shop):
    """Every model's list, add form and first object's change form in the admin; yield a label for each."""
    buyer = UserFactory(username="erin")
    CartItemFactory(cart=CartFactory(user=buyer), product=shop["lamp"], quantity=2)
    order = OrderFactory(user=buyer, number="M3XQ7PLW2A", address="1 Harbour Street")
    OrderLineFactory(order=order, product=shop["lamp"], product_name="Aurora Desk Lamp", quantity=2)
    UserFactory(username="operator", is_staff=True, is_superuser=True)
    _sign_in(page, base, "operator", next_path="/admin/")
    page.goto(f"{base}/admin/")
    yield "admin index"
    page.goto(f"{base}/admin/dashboard/")
    yield "admin dashboard"
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        page.goto(f"{base}/admin/{meta.app_label}/{meta.model_name}/")
        yield f"admin {meta.verbose_name_plural} list"
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            page.goto(f"{base}/admin/{meta.app_label}/{meta.model_name}/{first.pk}/change/")
            yield f"admin {meta.verbose_name} change"
        if model_admin.has_add_permission(_Superuser()):
            page.goto(f"{base}/admin/{meta.app_label}/{meta.model_name}/add/")
            yield f"admin {meta.verbose_name} add"


class _Superuser:
    """Just enough of a request for ModelAdmin.has_add_permission."""

    class user:  # noqa: N801 - stands in for request.user
        is_active = is_staff = is_superuser = True

        @staticmethod
        def has_perm(perm, obj=None):
            return True


def _audit(page: Page, width: int, pages) -> list[str]:
    page.set_viewport_size({"width": width, "height": HEIGHT[width]})
    install_axe(page.context)
    failures, seen = [], []
    for label in pages:
        seen.append(label)
        failures += axe_violations(page, f"[{width}px] {label}")
    assert seen, "no page was checked"
    return failures


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_guest_pages_have_no_axe_violations(page: Page, live_server, shop, width):
    failures = _audit(page, width, _guest_pages(page, live_server.url, shop))
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_signed_in_pages_have_no_axe_violations(page: Page, live_server, shop, width):
    failures = _audit(page, width, _shopper_pages(page, live_server.url, shop))
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_admin_dashboard_and_sessions_list_have_no_axe_violations(page: Page, live_server, width):
    failures = _audit(page, width, _admin_pages(page, live_server.url))
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("width", [DESKTOP, SMALL_PHONE])
def test_every_admin_page_has_no_axe_violations(page: Page, live_server, shop, width):
    failures = _audit(page, width, _every_admin_page(page, live_server.url, shop))
    assert failures == [], "\n".join(failures)


def test_the_admin_dashboard_fits_a_360px_phone(page: Page, live_server):
    page.set_viewport_size({"width": SMALL_PHONE, "height": HEIGHT[SMALL_PHONE]})
    for _ in _admin_pages(page, live_server.url):
        if page.url.endswith("/admin/dashboard/"):
            assert horizontal_overflow(page) == 0
            return
    pytest.fail("the dashboard was not visited")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_catalog_and_product_pass_axe_in_both_colour_schemes(page: Page, live_server, shop, scheme):
    page.emulate_media(color_scheme=scheme)

    def pages():
        page.goto(live_server.url)
        yield f"catalog ({scheme})"
        page.goto(f"{live_server.url}/products/{shop['lamp'].slug}/")
        yield f"product ({scheme})"

    failures = _audit(page, PHONE, pages())
    assert failures == [], "\n".join(failures)


def test_no_shopper_page_scrolls_sideways_on_a_360px_phone(page: Page, live_server, shop):
    page.set_viewport_size({"width": SMALL_PHONE, "height": HEIGHT[SMALL_PHONE]})
    base = live_server.url
    wide = []
    # Chained, not listed: each page is measured while it is the one shown.
    for label in itertools.chain(_guest_pages(page, base, shop), _shopper_pages(page, base, shop)):
        if overflow := horizontal_overflow(page):
            wide.append(f"{label} {page.url}: {overflow}px wider than the screen")
    assert wide == [], "\n".join(wide)


def test_add_past_the_stock_stays_on_the_product_page_with_the_reason_and_no_session(page: Page, live_server, shop):
    vase = ProductFactory(name="Tide Vase", slug="tide-vase", stock=2)
    page.set_viewport_size({"width": PHONE, "height": HEIGHT[PHONE]})
    page.goto(f"{live_server.url}/products/{vase.slug}/")
    quantity = page.get_by_label("Quantity")
    expect(quantity).to_have_attribute("max", "2")  # the form offers only what can be added
    quantity.fill("3")
    assert quantity.evaluate("input => input.checkValidity()") is False  # the browser holds back more than that
    quantity.fill("2")
    type(vase).objects.filter(pk=vase.pk).update(stock=1)  # meanwhile another shopper bought one
    page.get_by_role("button", name="Add to cart").click()

    # The server is the judge: the same product page, the reason, and still no session.
    expect(page.get_by_role("heading", level=1)).to_have_text("Tide Vase")
    expect(page.get_by_role("alert")).to_have_text(
        "You can have at most 1 of Tide Vase in your cart (only 1 in stock)."
    )
    expect(page.get_by_label("Quantity")).to_have_attribute("max", "1")
    expect(page.get_by_test_id("cart-badge")).to_have_text("0")
    assert not [cookie for cookie in page.context.cookies() if cookie["name"] == "sessionid"]
    assert not Session.objects.exists()


def test_the_cart_stays_one_tap_away_on_a_phone(page: Page, live_server, shop):
    page.set_viewport_size({"width": SMALL_PHONE, "height": HEIGHT[SMALL_PHONE]})
    page.goto(f"{live_server.url}/products/{shop['lamp'].slug}/")
    cart = page.get_by_role("banner").get_by_role("link", name="Cart")
    box = cart.bounding_box()
    assert box["y"] < 60 and box["height"] >= 44, box  # in the header's first row, a full tap target
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("status")).to_contain_text("Added 2 × Aurora Desk Lamp.")
    page.get_by_role("status").get_by_role("link", name="View cart").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your cart")
    expect(page.get_by_test_id("cart-total")).to_have_text("€79.80")
