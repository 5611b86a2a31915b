"""What the cart script is answered, what shipping costs where, and the footer's pages."""

import json
import re
import zlib
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.core import signing

from accounts.models import Session
from accounts.views.session import SIGNED_COOKIES_SALT
from cart import services
from cart.models import Cart, CartItem, Order
from tests.conftest import sign_in
from tests.factories import CartFactory, CartItemFactory, ProductFactory

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}
REQUEST_ID = "a" * 22


class TestAnswersForTheScript:
    def test_an_add_asked_for_json_answers_the_badge_the_sums_and_a_fresh_request_id(self, client, product):
        response = client.post("/cart/add/", {"product": product.pk, "quantity": 2, "request_id": REQUEST_ID}, **JSON)
        assert response.status_code == 200
        answer = response.json()
        assert answer["message"] == "Added 2 × Basalt Mug."
        assert answer["count"] == 2 and answer["lines"] == {str(product.pk): "25.00"}
        assert (answer["subtotal"], answer["shipping"], answer["total"]) == ("25.00", "4.90", "29.90")
        assert (answer["product"], answer["in_cart"], answer["room"]) == (product.pk, 2, 8)
        assert answer["request_id"] != REQUEST_ID
        # The fresh id makes the page's next add a new add; the old one still counts once.
        client.post("/cart/add/", {"product": product.pk, "request_id": REQUEST_ID}, **JSON)
        assert CartItem.objects.get().quantity == 2
        client.post("/cart/add/", {"product": product.pk, "request_id": answer["request_id"]}, **JSON)
        assert CartItem.objects.get().quantity == 3

    def test_a_plain_add_still_redirects_with_the_message(self, client, product):
        response = client.post("/cart/add/", {"product": product.pk, "next": "/"})
        assert response.status_code == 302 and response["Location"] == "/"
        assert "Added 1 × Basalt Mug." in client.get("/").content.decode()

    def test_a_refused_add_answers_the_reason_and_the_room_as_json_and_creates_no_session(self, client):
        vase = ProductFactory(name="Tide Vase", stock=1)
        response = client.post("/cart/add/", {"product": vase.pk, "quantity": 2}, **JSON)
        assert response.status_code == 400
        assert response.json() == {
            "error": "You can have at most 1 of Tide Vase in your cart (only 1 in stock).",
            "product": vase.pk,
            "in_cart": 0,
            "room": 1,
        }
        assert not Session.objects.exists() and not Cart.objects.exists()

    def test_an_unknown_product_answers_404_json(self, client):
        response = client.post("/cart/add/", {"product": 999999}, **JSON)
        assert response.status_code == 404 and response.json() == {
            "error": "That product does not exist or is no longer sold."
        }

    def test_an_update_answers_the_new_sums_and_zero_removes_the_line(self, client, product):
        client.post("/cart/add/", {"product": product.pk, "quantity": 1})
        answer = client.post("/cart/update/", {"product": product.pk, "quantity": 4}, **JSON).json()
        assert answer["message"] == "Your cart now holds 4 × Basalt Mug."
        # 4 × 12.50 = 50.00: from SHIPPING_FREE_FROM on, shipping is free.
        assert (answer["count"], answer["subtotal"], answer["shipping"], answer["total"]) == (
            4,
            "50.00",
            "0.00",
            "50.00",
        )
        answer = client.post("/cart/update/", {"product": product.pk, "quantity": 0}, **JSON).json()
        assert answer["message"] == "Removed Basalt Mug from your cart."
        assert (answer["count"], answer["lines"], answer["quantity"]) == (0, {}, 0)

    def test_a_refused_update_answers_its_reason_with_its_status(self, client, product):
        client.post("/cart/add/", {"product": product.pk})
        response = client.post("/cart/update/", {"product": product.pk, "quantity": 11}, **JSON)
        assert response.status_code == 400
        assert response.json() == {"error": "Quantity must be a whole number from 1 to 10."}
        assert CartItem.objects.get().quantity == 1


class TestShipping:
    @pytest.mark.parametrize(
        ("subtotal", "delivered", "shipping"),
        [
            ("0.00", True, "0.00"),
            ("12.50", True, "4.90"),
            ("49.99", True, "4.90"),
            ("50.00", True, "0.00"),
            ("12.50", False, "0.00"),
        ],
    )
    def test_the_rule(self, subtotal, delivered, shipping):
        assert services.shipping_for(subtotal=Decimal(subtotal), delivered=delivered) == Decimal(shipping)

    def test_the_rule_follows_the_settings(self, settings):
        settings.SHIPPING_FLAT_RATE, settings.SHIPPING_FREE_FROM = Decimal("6.00"), Decimal("100.00")
        assert services.shipping_for(subtotal=Decimal("60.00")) == Decimal("6.00")

    def test_a_delivered_order_pays_shipping_in_its_total_and_page(self, client, user, product):
        CartItemFactory(cart=CartFactory(user=user), product=product, quantity=2)
        sign_in(client)
        response = client.post("/checkout/", {"address": "1 Quay Street"})
        order = Order.objects.get()
        assert (order.subtotal, order.shipping, order.total) == (Decimal("25.00"), Decimal("4.90"), Decimal("29.90"))
        page = client.get(response["Location"]).content.decode()
        assert (
            'data-testid="order-shipping">€4.90<' in page
            and 'data-testid="order-total" data-label="Total">€29.90<' in page
        )
        assert "Received:</strong> we'll mail you when it ships." in page and "Delivering to:" in page

    def test_an_order_collected_in_store_pays_no_shipping(self, client, user, product):
        CartItemFactory(cart=CartFactory(user=user), product=product, quantity=1)
        sign_in(client)
        client.post("/checkout/", {"address": ""})
        order = Order.objects.get()
        assert (order.shipping, order.total) == (Decimal("0.00"), Decimal("12.50"))

    def test_product_and_cart_say_shipping_delivery_returns_and_vat(self, client, product):
        client.post("/cart/add/", {"product": product.pk})
        for path in [f"/products/{product.slug}/", "/cart/"]:
            page = client.get(path).content.decode()
            assert f"Shipping €{settings.SHIPPING_FLAT_RATE}" in page, path
            assert "Delivered in 2–4 working days" in page and "30 days to return" in page, path
            assert "All prices include VAT" in page, path


class TestFooterPages:
    @pytest.mark.parametrize(
        ("name", "heading"), [("delivery", "Delivery and returns"), ("privacy", "Privacy"), ("contact", "Contact")]
    )
    def test_each_page_is_linked_from_every_footer_and_answers(self, client, name, heading):
        assert f'href="/help/{name}/"' in client.get("/").content.decode()
        page = client.get(f"/help/{name}/")
        assert page.status_code == 200 and f"<h1>{heading}" in page.content.decode()

    def test_privacy_says_what_is_kept_in_plain_words(self, client):
        page = client.get("/help/privacy/").content.decode()
        for words in [
            "one cookie, which holds only a random key",
            "delivery address",
            f"deleted after {settings.AUDIT_RETENTION_DAYS} days",
        ]:
            assert words in page

    def test_an_unknown_page_is_404(self, client):
        assert client.get("/help/secrets/").status_code == 404


def _read_without_key(cookie: str) -> dict:
    """What anyone holding a signed_cookies session reads: its payload, base64 (and zlib) only."""
    payload = cookie.split(":")[0]
    raw = signing.b64_decode(payload.lstrip(".").encode())
    return json.loads(zlib.decompress(raw) if payload.startswith(".") else raw)


class TestSignedCookieLesson:
    def test_the_inspector_shows_this_session_as_a_signed_cookie_anyone_can_read(self, client, product):
        client.post("/cart/add/", {"product": product.pk})
        page = client.get("/session/").content.decode()
        cookie = page.split('data-testid="signed-cookie">')[1].split("<")[0]
        assert _read_without_key(cookie) == {"cart_id": Cart.objects.get().pk}
        assert f"{len(cookie)} characters" in page
        assert "could not be ended from the devices page" in page
        # Signed with a throwaway key: the value shown is no credential for any server using that engine.
        with pytest.raises(signing.BadSignature):
            signing.loads(cookie, salt=SIGNED_COOKIES_SALT)

    def test_the_decoded_view_hides_the_password_derived_hash(self, client, user):
        sign_in(client)
        page = client.get("/session/").content.decode()
        cookie = page.split('data-testid="signed-cookie">')[1].split("<")[0]
        read = _read_without_key(cookie)
        assert read["_auth_user_id"] == str(user.pk)
        assert read["_auth_user_hash"] == "(hidden: 64 characters derived from your password)"
        readable = page.split('data-testid="signed-cookie-readable">')[1].split("</pre>")[0]
        assert user.get_session_auth_hash() not in page and "hidden: 64 characters" in readable

    def test_deadlines_are_said_in_words_and_as_a_moment(self, client, user):
        with time_machine.travel(datetime(2026, 12, 17, 16, 54, tzinfo=UTC), tick=False):
            sign_in(client)
            page = client.get("/session/").content.decode()
        idle = page.split('data-testid="idle-countdown">')[1].split("</span>")[0]
        # The idle limit (30 minutes, plus the activity write's granularity) in words, then the moment.
        assert re.fullmatch(
            r'in 3\d minutes, on <time datetime="2026-12-17T17:(\d\d):00\+00:00" data-local="day-time">'
            r"17 December at 17:\1 UTC</time>",
            idle,
        ), idle
