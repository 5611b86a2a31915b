"""The storefront as a browser-less client sees it."""

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Session
from cart.models import Cart, CartItem, Order
from tests.conftest import SESSION_COOKIE, sign_in
from tests.factories import CartFactory, CartItemFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def units(client):
    return client.get("/cart/summary/").json()["count"]


class TestBrowsingNeedsNoSession:
    def test_catalog_product_cart_and_summary_set_no_session(self, client, product):
        for path in ["/", f"/products/{product.slug}/", "/cart/", "/cart/summary/", "/accounts/login/"]:
            response = client.get(path)
            assert response.status_code == 200, path
            assert SESSION_COOKIE not in response.cookies, path
        assert not Session.objects.exists()

    def test_anonymous_catalog_runs_no_session_query(self, client, product, django_assert_num_queries):
        # One query: the products. No session, user or cart lookups for a cookieless visitor.
        with django_assert_num_queries(1):
            client.get("/")

    def test_bad_add_to_cart_creates_no_session(self, client, product):
        client.post("/cart/add/", {"product": product.pk, "quantity": "0"})
        client.post("/cart/add/", {"product": 999999})
        assert not Session.objects.exists()
        assert not Cart.objects.exists()

    def test_catalog_lists_active_products_with_stock_labels(self, client):
        ProductFactory(name="Plenty", stock=40)
        ProductFactory(name="Scarce", stock=1)
        ProductFactory(name="Gone", stock=0)
        ProductFactory(name="Retired", is_active=False)
        html = client.get("/").content.decode()
        assert "in stock" in html and "only 1 left" in html and "sold out" in html
        assert "Retired" not in html


class TestGuestCart:
    def test_first_add_creates_the_guest_session_and_cart(self, client, product):
        response = client.post("/cart/add/", {"product": product.pk, "quantity": 2})
        assert response.status_code == 302 and response["Location"] == "/cart/"
        cookie = response.cookies[SESSION_COOKIE]
        assert cookie["httponly"] and cookie["samesite"] == "Lax"
        companion = response.cookies["sessionid_same_site"]
        assert companion["httponly"] and companion["samesite"] == "Strict"
        assert companion["max-age"] == cookie["max-age"]
        # A guest cookie persists so the cart survives closing the browser.
        assert int(cookie["max-age"]) == settings.GUEST_SESSION_AGE
        row = Session.objects.get()
        assert row.user is None and row.ip == "127.0.0.1"
        assert row.get_decoded() == {"cart_id": Cart.objects.get().pk}  # the cart itself is not in the session
        assert units(client) == 2

    def test_add_update_remove(self, client, product):
        other = ProductFactory()
        client.post("/cart/add/", {"product": product.pk})
        client.post("/cart/add/", {"product": other.pk, "quantity": 3})
        assert units(client) == 4
        client.post("/cart/update/", {"product": other.pk, "quantity": 1})
        assert units(client) == 2
        client.post("/cart/remove/", {"product": product.pk})
        assert units(client) == 1
        client.post("/cart/update/", {"product": other.pk, "quantity": 0})
        assert units(client) == 0

    def test_header_badge_counts_units(self, client, product):
        client.post("/cart/add/", {"product": product.pk, "quantity": 3})
        assert 'items:</span> <span class="badge" data-testid="cart-badge">3<' in client.get("/").content.decode()

    def test_summary_json_shape(self, client, product):
        client.post("/cart/add/", {"product": product.pk, "quantity": 2})
        assert client.get("/cart/summary/").json() == {
            "count": 2,
            "lines": [
                {"product": product.pk, "slug": "basalt-mug", "quantity": 2, "unit_price": "12.50", "available": True}
            ],
            "total": "25.00",
        }

    def test_signed_in_summary_reads_the_lines_in_one_query(self, client, user, django_assert_num_queries):
        sign_in(client)
        for product in ProductFactory.create_batch(3):
            client.post("/cart/add/", {"product": product.pk})
        client.get("/cart/summary/")
        # The session, the user, and the cart's lines with their products.
        with django_assert_num_queries(3):
            assert units(client) == 3

    def test_next_is_followed_only_when_on_site(self, client, product):
        on_site = client.post("/cart/add/", {"product": product.pk, "next": "/products/basalt-mug/"})
        assert on_site["Location"] == "/products/basalt-mug/"
        for unsafe in ["https://evil.example/", "//evil.example/", "javascript:alert(1)"]:
            response = client.post("/cart/add/", {"product": product.pk, "next": unsafe})
            assert response["Location"] == "/cart/", unsafe
        assert units(client) == 4


class TestBadInput:
    @pytest.mark.parametrize(
        ("data", "status", "message"),
        [
            ({"product": "999999"}, 404, "does not exist or is no longer sold"),
            ({"product": "abc"}, 400, "Unknown product."),
            ({}, 400, "Choose a product."),
            ({"product": "PK", "quantity": "0"}, 400, "from 1 to 10"),
            ({"product": "PK", "quantity": "-3"}, 400, "from 1 to 10"),
            ({"product": "PK", "quantity": "two"}, 400, "from 1 to 10"),
            ({"product": "PK", "quantity": "99999999999999999999"}, 400, "from 1 to 10"),
            ({"product": "PK", "quantity": "11"}, 400, "from 1 to 10"),
        ],
    )
    def test_bad_add_says_why_and_leaves_the_cart_as_it_was(self, client, product, data, status, message):
        client.post("/cart/add/", {"product": product.pk, "quantity": 2})
        data = {key: (str(product.pk) if value == "PK" else value) for key, value in data.items()}
        response = client.post("/cart/add/", data)
        assert response.status_code == status
        assert message in response.content.decode()
        assert units(client) == 2

    def test_inactive_product_gives_404(self, client):
        retired = ProductFactory(is_active=False)
        response = client.post("/cart/add/", {"product": retired.pk})
        assert response.status_code == 404
        assert client.get(f"/products/{retired.slug}/").status_code == 404

    def test_foreign_cart_line_cannot_be_changed(self, client, user, product):
        other_line = CartItemFactory(cart=CartFactory(user=UserFactory(username="bob")), product=product, quantity=2)
        client.force_login(user)
        for path, data in [
            ("/cart/update/", {"product": product.pk, "quantity": 5}),
            ("/cart/remove/", {"product": product.pk}),
        ]:
            response = client.post(path, data)
            assert response.status_code == 404
            assert "not in your cart" in response.content.decode()
        other_line.refresh_from_db()
        assert other_line.quantity == 2

    def test_missing_csrf_token_is_refused_with_403(self, product):
        strict = Client(enforce_csrf_checks=True)
        response = strict.post("/cart/add/", {"product": product.pk})
        assert response.status_code == 403
        assert "security token" in response.content.decode()
        assert not CartItem.objects.exists()

    def test_get_on_a_state_change_is_refused(self, client, product):
        assert client.get("/cart/add/", {"product": product.pk}).status_code == 405
        assert not CartItem.objects.exists()


class TestCheckout:
    def test_without_guest_checkout_a_guest_is_sent_to_sign_in_and_back(self, client, user, product, settings):
        settings.GUEST_CHECKOUT = False
        client.post("/cart/add/", {"product": product.pk, "quantity": 2})
        response = client.get("/checkout/")
        assert response.status_code == 302
        assert response["Location"] == "/accounts/login/?next=/checkout/"
        response = sign_in(client, user.username, next_url="/checkout/")
        assert response["Location"] == "/checkout/"
        page = client.get("/checkout/").content.decode()
        # Under SHIPPING_FREE_FROM: the flat rate on top (4.90 by default).
        assert "Basalt Mug" in page and 'data-label="Subtotal" data-cart-subtotal>€25.00<' in page
        assert 'data-label="Shipping" data-cart-shipping data-testid="cart-shipping">€4.90<' in page
        assert 'data-testid="cart-total" data-label="Total to pay" data-cart-total>€29.90<' in page

    def test_a_guest_may_sign_in_from_checkout_and_the_cart_comes_along(self, client, user, product):
        client.post("/cart/add/", {"product": product.pk, "quantity": 2})
        page = client.get("/checkout/").content.decode()
        assert 'href="/accounts/login/?next=/checkout/"' in page and "Continue as guest" in page
        response = sign_in(client, user.username, next_url="/checkout/")
        assert response["Location"] == "/checkout/"
        page = client.get("/checkout/").content.decode()
        assert "Basalt Mug" in page and "Place order" in page and "€25.00" in page

    def test_placing_an_order_lists_it(self, client, user, product):
        CartItemFactory(cart=CartFactory(user=user), product=product, quantity=2)
        client.force_login(user)
        response = client.post("/checkout/")
        order = Order.objects.get()
        assert response["Location"] == f"/orders/{order.number}/"
        assert "€25.00" in client.get(response["Location"]).content.decode()
        assert order.number in client.get("/orders/").content.decode()
        assert units(client) == 0

    def test_over_stock_order_is_refused_with_a_message(self, client, user, product):
        CartItemFactory(cart=CartFactory(user=user), product=product, quantity=5)
        product.stock = 2
        product.save()
        client.force_login(user)
        response = client.post("/checkout/")
        assert response.status_code == 409
        assert "Only 2 of Basalt Mug left in stock" in response.content.decode()
        assert not Order.objects.exists()

    def test_orders_of_others_are_not_found(self, client, user):
        foreign = CartItemFactory(cart=CartFactory(user=UserFactory(username="bob")))
        client.force_login(foreign.cart.user)
        client.post("/checkout/")
        number = Order.objects.get().number
        client.force_login(user)
        assert client.get(f"/orders/{number}/").status_code == 404
        assert number not in client.get("/orders/").content.decode()
