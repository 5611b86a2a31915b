"""A stale copy on the cached variant: an old price, an old stock, or a cart as it was before a change.

Threat-model row: "A stale copy on the cached variant". With SESSION_CACHED=true the cart's
lines and the catalog are served from copies (the shared Redis, each process's memory).
Whoever changes the truth (staff saving a product, another buyer's order, the shopper's
other browser, a sign-in's merge) must never leave a copy made from the old rows being
served: each copy holds only under the stamps it was made under (cart/copies.py), and
every change replaces them at once and after its commit (shopdemo.cache.bump). The
copies here live on a real redis-server (tests/conftest.py redis_cache).
"""

import pytest
import requests
from django.db import transaction
from django.test import Client

from cart import copies, services
from cart.models import Cart, CartItem, CartOwner
from tests.cart.test_copies import summary
from tests.conftest import sign_in
from tests.factories import CartFactory, CartItemFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def copies_on_redis(cached_variant, redis_cache):
    """Every test here runs the cached variant, its copies on Redis."""


@pytest.fixture
def shopper(client, user, product):
    """alice signed in, with 2 of the product in her cart."""
    sign_in(client)
    client.post("/cart/add/", {"product": product.pk, "quantity": 2})
    return client


def badge(page) -> str:
    return page.split('data-testid="cart-badge">')[1].split("<")[0]


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


def test_a_change_from_the_accounts_other_browser_is_seen_at_the_next_page(shopper, user, product):
    phone = Client()
    sign_in(phone)
    assert badge(shopper.get("/").content.decode()) == badge(phone.get("/").content.decode()) == "2"  # both copied
    phone.post("/cart/add/", {"product": product.pk, "quantity": 3})
    assert badge(shopper.get("/").content.decode()) == "5"
    phone.post("/cart/remove/", {"product": product.pk})
    assert badge(shopper.get("/").content.decode()) == "0" and summary(shopper)["count"] == 0


def test_stock_sold_elsewhere_is_shown_and_refuses_the_add(shopper, product):
    page = shopper.get(f"/products/{product.slug}/").content.decode()
    assert "in stock" in page and "sold out" not in shopper.get("/").content.decode()
    product.stock = 0  # staff, or another buyer's checkout, took the last units
    product.save()
    assert "sold out" in shopper.get("/").content.decode()
    assert "sold out" in shopper.get(f"/products/{product.slug}/").content.decode()
    refused = shopper.post("/cart/add/", {"product": product.pk}, HTTP_ACCEPT="application/json")
    assert refused.status_code == 400 and refused.json()["error"] == "Basalt Mug is sold out."
    assert summary(shopper)["count"] == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_pages_read_while_a_price_change_is_uncommitted_leave_no_copy_of_the_old_price(live_server, product):
    """A reader in another connection between the write and its commit: what it copies must not outlive the commit."""
    guest = requests.Session()
    guest.get(f"{live_server.url}/", timeout=30)
    added = {"product": product.pk, "csrfmiddlewaretoken": guest.cookies["csrftoken"]}
    guest.post(f"{live_server.url}/cart/add/", added, timeout=30)

    def shown():
        page = guest.get(f"{live_server.url}/", timeout=30).text
        total = guest.get(f"{live_server.url}/cart/summary/", timeout=30).json()["total"]
        return "€12.50" in page, "€9.90" in page, total

    assert [shown(), shown()] == [(True, False, "12.50")] * 2  # the copies are made
    with transaction.atomic():
        product.price = "9.90"
        product.save()  # replaces the stamps now; the row's new price is not committed yet
        # The server's own connection still reads the old row, and copies it under the new stamps.
        during = [shown() for _ in range(2)]
    assert during == [(True, False, "12.50")] * 2
    assert shown() == (False, True, "9.90")  # after the commit: the copies made meanwhile are not served
