"""SESSION_CACHED: the copies of carts and of the catalog are served only while nothing they show changed."""

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cart.models import Cart
from tests.conftest import selects_of, sign_in

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
