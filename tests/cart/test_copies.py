"""SESSION_CACHED: the copies of carts and of the catalog are served only while nothing they show changed."""

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cart import copies, services
from cart.models import Cart, CartItem, CartOwner
from tests.conftest import selects_of, sign_in
from tests.factories import CartFactory, CartItemFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def copies_on(cached_variant):
    """Every test here runs the cached variant."""


@pytest.fixture
def shopper(client, user, product):
    sign_in(client)
    client.post("/cart/add/", {"product": product.pk, "quantity": 2})
    return client


def summary(client):
    return client.get("/cart/summary/").json()


def test_a_signed_in_page_reads_no_cart_and_no_product(shopper):
    shopper.get("/")  # makes the copies
    with CaptureQueriesContext(connection) as queries:
        assert summary(shopper)["count"] == 2
        page = shopper.get("/").content.decode()
    assert 'data-testid="cart-badge">2<' in page
    # Only the session row, read by its key on each request: the table decides whether it lives.
    assert len(queries.captured_queries) == 2
    assert len(selects_of("accounts_session", queries.captured_queries)) == 2


def test_changes_to_the_cart_are_seen_at_the_next_request(shopper, product):
    summary(shopper)
    shopper.post("/cart/add/", {"product": product.pk, "quantity": 3})
    assert summary(shopper)["count"] == 5
    shopper.post("/cart/update/", {"product": product.pk, "quantity": 1})
    assert summary(shopper)["count"] == 1
    shopper.post("/cart/remove/", {"product": product.pk})
    assert summary(shopper) == {"count": 0, "lines": [], "total": "0.00"}


def test_a_changed_product_is_seen_in_the_cart_and_the_catalog(shopper, product):
    summary(shopper)
    shopper.get("/")
    product.price = "9.90"
    product.save()
    assert summary(shopper)["lines"][0]["unit_price"] == "9.90"
    assert "€9.90" in shopper.get("/").content.decode()
    product.is_active = False
    product.save()
    assert summary(shopper)["lines"][0]["available"] is False
    assert f"product-{product.slug}" not in shopper.get("/").content.decode()


def test_an_order_empties_the_copied_cart_and_takes_the_stock(shopper, user, product):
    summary(shopper)
    shopper.get("/")
    services.order_place(owner=CartOwner(user=user))
    assert summary(shopper)["count"] == 0
    product.refresh_from_db()
    assert shopper.get("/").context["products"][0].stock == product.stock == 48


def test_the_guest_cart_carried_in_at_sign_in_is_seen(client, user, product):
    other = ProductFactory(stock=9)
    CartItemFactory(cart=CartFactory(user=user), product=other, quantity=4)
    elsewhere = Client()
    sign_in(elsewhere)
    summary(elsewhere)  # the first read starts the stamps, the second copies the account's cart
    assert summary(elsewhere)["count"] == 4
    client.post("/cart/add/", {"product": product.pk, "quantity": 1})
    assert summary(client)["count"] == 1  # the guest cart's copy
    sign_in(client)
    for browser in (client, elsewhere):
        assert {line["product"]: line["quantity"] for line in summary(browser)["lines"]} == {product.pk: 1, other.pk: 4}


def test_a_staff_edit_or_deletion_of_the_cart_is_seen(shopper, user, product):
    summary(shopper)
    cart = Cart.objects.get(user=user)
    staff = Client()
    staff.force_login(UserFactory(username="staffer", is_staff=True, is_superuser=True))
    item = CartItem.objects.get(cart=cart)
    form = {
        "user": user.pk,
        "status": cart.status,
        "items-TOTAL_FORMS": "1",
        "items-INITIAL_FORMS": "1",
        "items-0-id": item.pk,
        "items-0-cart": cart.pk,
        "items-0-product": product.pk,
        "items-0-quantity": "7",
    }
    assert staff.post(f"/admin/cart/cart/{cart.pk}/change/", form).status_code == 302
    assert summary(shopper)["count"] == 7
    assert staff.post(f"/admin/cart/cart/{cart.pk}/delete/", {"post": "yes"}).status_code == 302
    assert summary(shopper)["count"] == 0


def test_a_copy_of_rows_read_before_a_commit_is_never_served(user, product):
    cart = CartFactory(user=user)
    owner = copies.owner_key(user_id=user.pk)
    copies.lines(owner, list)  # sets the stamps
    loads = []

    def load_then_change():
        rows = list(CartItem.objects.filter(cart=cart).select_related("product"))
        loads.append(len(rows))
        if len(loads) == 1:  # another request changes the cart after this read, before the copy is made
            CartItem.objects.create(cart=cart, product=product, quantity=1)
            copies.cart_changed(cart)
        return rows

    assert copies.lines(owner, load_then_change) == []
    assert len(copies.lines(owner, load_then_change)) == 1  # read afresh, not the copy of the old rows
    assert loads == [0, 1]


def test_without_the_cached_variant_nothing_is_copied(settings, shopper):
    settings.SESSION_CACHED = False
    settings.CACHES = {**settings.CACHES, "copies": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    with CaptureQueriesContext(connection) as queries:
        shopper.get("/")
        shopper.get("/")
    assert len(selects_of("cart_product", queries.captured_queries)) == 4  # each page: the catalog, the cart's lines


def test_every_key_has_a_lifetime_and_a_purged_cart_leaves_none(redis_cache, client, user, product, settings, clock):
    guest = Client()
    guest.post("/cart/add/", {"product": product.pk})
    summary(guest)
    summary(guest)  # the stamps, then the copy
    guest_cart = Cart.objects.get(user__isnull=True)
    sign_in(client)
    client.post("/cart/add/", {"product": product.pk})
    summary(client)
    summary(client)
    keys = [key.decode() for key in redis_cache.keys("*")]
    assert any(f"shopdemo.cart.{guest_cart.pk}.stamp" in key for key in keys)
    assert {key: redis_cache.ttl(key) for key in keys if redis_cache.ttl(key) < 0} == {}  # -1: no lifetime
    clock.shift(settings.GUEST_SESSION_AGE + 3600)  # the guest's session has expired, and the cart with it
    call_command("purge_sessions", stdout=io.StringIO())
    assert not Cart.objects.filter(pk=guest_cart.pk).exists()
    keys = [key.decode() for key in redis_cache.keys("*")]
    assert not [key for key in keys if f"shopdemo.cart.{guest_cart.pk}" in key]
    assert any(f"shopdemo.cart.user.{user.pk}" in key for key in keys)  # the account's cart is kept
    assert {key: redis_cache.ttl(key) for key in keys if redis_cache.ttl(key) < 0} == {}
