"""Arriving from another site: links show the session at once; that site's forms change nothing.

The other site is a page on a second local origin (127.0.0.1, another site
than the shop's localhost) that links and posts to the shop.
"""

import html
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page, expect

from accounts.models import AuditEvent
from cart.models import CartItem
from tests.factories import PASSWORD, OrderFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def other_site():
    """A second origin whose page is whatever the test puts there; yields (set_page, url)."""
    body = {"html": ""}

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            content = body["html"].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def put(markup: str) -> str:
        body["html"] = f'<!doctype html><html lang="en"><title>Mail</title><body>{markup}</body></html>'
        return f"http://127.0.0.1:{server.server_port}/"

    yield put
    server.shutdown()


# The shopper arriving from a mail or a search is often on a phone.
SCREENS = pytest.mark.parametrize("width", [1280, 360], ids=["desktop", "phone"])


def follow(page: Page, other_site, url: str, text: str) -> None:
    page.goto(other_site(f'<a href="{html.escape(url)}">{text}</a>'))
    page.get_by_role("link", name=text).click()


@SCREENS
def test_a_guest_following_a_link_finds_the_cart_at_once(page: Page, live_server, other_site, width):
    page.set_viewport_size({"width": width, "height": 740})
    mug = ProductFactory(name="Basalt Mug", slug="basalt-mug", price=Decimal("12.50"))
    page.goto(f"{live_server.url}/products/{mug.slug}/")
    page.get_by_role("button", name="Add to cart").first.click()
    expect(page.get_by_test_id("cart-badge")).to_have_text("1")

    follow(page, other_site, f"{live_server.url}/cart/", "Your cart")
    expect(page).to_have_url(f"{live_server.url}/cart/")
    expect(page.get_by_test_id(f"line-{mug.slug}")).to_contain_text("Basalt Mug")


@SCREENS
def test_a_customer_following_the_order_mail_sees_the_order_at_once(page: Page, live_server, other_site, width):
    page.set_viewport_size({"width": width, "height": 740})
    user = UserFactory(username="erin")
    order = OrderFactory(user=user, number="MAIL00001")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_test_id("auth-state")).to_have_text("Signed in as erin")

    follow(page, other_site, f"{live_server.url}/orders/{order.number}/", "See your order")
    expect(page).to_have_url(f"{live_server.url}/orders/{order.number}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {order.number}")
    expect(page.get_by_test_id("auth-state")).to_have_text("Signed in as erin")


def test_a_cross_site_post_with_a_valid_csrf_token_but_no_same_site_cookie_is_refused(
    page: Page, live_server, other_site
):
    mug = ProductFactory(name="Basalt Mug", slug="basalt-mug", price=Decimal("12.50"))
    page.goto(f"{live_server.url}/products/{mug.slug}/")
    page.get_by_role("button", name="Add to cart").first.click()
    expect(page.get_by_test_id("cart-badge")).to_have_text("1")
    jar = {cookie["name"]: cookie for cookie in page.context.cookies()}
    # As a browser that sends Lax cookies on a cross-site POST would (older engines,
    # Chrome's two-minute "Lax allowing unsafe"): the session and CSRF cookies go
    # along; the Strict same-site cookie never does. The token is the victim's own.
    page.context.add_cookies([{**jar[name], "sameSite": "None", "secure": True} for name in ("sessionid", "csrftoken")])
    token = page.evaluate("document.querySelector('[name=csrfmiddlewaretoken]').value")
    page.goto(
        other_site(
            f'<form method="post" action="{live_server.url}/cart/add/">'
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{html.escape(token)}">'
            f'<input type="hidden" name="product" value="{mug.pk}"><input type="hidden" name="quantity" value="5">'
            "<button>Win a prize</button></form>"
        )
    )
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Win a prize").click()
    assert navigation.value.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("This form could not be accepted")
    assert sum(CartItem.objects.values_list("quantity", flat=True)) == 1
    assert AuditEvent.objects.get(event="malicious_csrf").details == {"reason": "same-site cookie missing"}
