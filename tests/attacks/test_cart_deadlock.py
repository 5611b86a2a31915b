"""Parallel requests on one cart, sent to make two transactions wait on each other until PostgreSQL gives up.

Threat-model row: "Parallel cart requests deadlocking". What the sender has is a browser
(or a script) and the same cart's cookies: many tabs, a double click, a flood. The defence:
one lock order in every cart service (the cart row first: cart.services._lock_cart), a lost
race run once more and then a 409 with the reason (retry_once), never the "database down"
page (shopdemo.views). Real gunicorn workers on PostgreSQL, real threads; nothing is mocked.
The deadlocks themselves are real too: a second connection takes the locks an add needs
in the opposite order, and PostgreSQL ends the add's transaction.
"""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection, transaction
from django.db.models import Sum

from cart.models import Cart, CartItem, OrderLine
from cart.services import MSG_CONFLICT
from tests.cart.test_concurrency import CLIENT_THREADS, TIMEOUT, _guest_with_cart, _post
from tests.factories import PASSWORD, ProductFactory
from tests.servers import server_user, signed_in_browser, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


MIXED_ROUNDS = 40  # of one add, one update and one remove of the same line, plus one add elsewhere


def test_mixed_parallel_add_update_remove_on_one_line_never_deadlocks(serve):
    """One lock order: these once took their locks in opposite orders and 152 of 400 got the outage page."""
    url = serve()
    contested, steady = ProductFactory.create_batch(2, stock=100)
    cookies = _guest_with_cart(url, contested.pk, 1)
    calls = []
    for _ in range(MIXED_ROUNDS):
        calls += [
            ("add", {"product": contested.pk, "quantity": 1}),
            ("update", {"product": contested.pk, "quantity": 2}),
            ("remove", {"product": contested.pk}),
        ]
    steady_adds = 8  # within MAX_LINE_QUANTITY, so every one must count
    calls += [("add", {"product": steady.pk, "quantity": 1})] * steady_adds

    def send(call):
        action, data = call
        return action, _post(f"{url}/cart/{action}/", data, cookies)

    with ThreadPoolExecutor(max_workers=CLIENT_THREADS) as pool:
        results = list(pool.map(send, calls))

    statuses = Counter(response.status_code for _, response in results)
    assert all(status < 500 for status in statuses), statuses
    # A redirect is a change made; 404 is an update or removal that found the
    # line already gone; 400 an add past the cap; 409 a race lost twice.
    assert set(statuses) <= {302, 400, 404, 409}, statuses
    assert statuses[302] >= len(calls) // 2, statuses
    cart = Cart.objects.get(user__isnull=True, status=Cart.Status.OPEN)
    stored = dict(CartItem.objects.filter(cart=cart).values_list("product_id", "quantity"))
    assert stored[steady.pk] == steady_adds
    summary = requests.get(f"{url}/cart/summary/", cookies=cookies, timeout=TIMEOUT).json()
    assert {line["product"]: line["quantity"] for line in summary["lines"]} == stored
    assert summary["total"] == f"{contested.price * stored.get(contested.pk, 0) + steady.price * steady_adds:.2f}"


ACCOUNT_ROUNDS = 15


def test_a_sign_in_merge_and_checkouts_amid_parallel_changes_of_one_accounts_cart_lose_nothing(serve):
    """Every service that locks a cart at once: add, update, remove, the merge at sign-in, checkout."""
    url = serve(MAX_LINE_QUANTITY="1000")  # no add or merge is capped: every unit must be accounted for
    contested, carried = ProductFactory.create_batch(2, stock=1000)
    mona = server_user("mona")
    tab = signed_in_browser(url, mona.username)
    cookies, headers = tab.cookies.get_dict(), dict(tab.headers)
    guest = _guest_with_cart(url, carried.pk, 3)  # this browser signs in as mona amid the rest
    carried_add = {"product": carried.pk, "quantity": 1}
    calls = []
    for n in range(ACCOUNT_ROUNDS):
        calls += [
            ("cart/add", {"product": contested.pk, "quantity": 1}),
            ("cart/update", {"product": contested.pk, "quantity": 2}),
            ("cart/remove", {"product": contested.pk}),
            ("cart/add", carried_add),
        ]
        if n % 5 == 2:
            calls.append(("checkout", {"address": "", "request_id": f"mixed-checkout-{n:08d}"}))
    calls.insert(len(calls) // 2, ("accounts/login", {"username": mona.username, "password": PASSWORD}))

    def send(call):
        path, data = call
        if path == "accounts/login":
            return path, _post(f"{url}/{path}/", data, guest)
        return path, _post(f"{url}/{path}/", data, cookies, headers)

    with ThreadPoolExecutor(max_workers=CLIENT_THREADS) as pool:
        results = list(pool.map(send, calls))

    statuses = Counter(response.status_code for _, response in results)
    assert set(statuses) <= {302, 404, 409}, {path: r.text for path, r in results if r.status_code >= 500}
    assert [r.status_code for path, r in results if path == "accounts/login"] == [302]
    # A 409 is a checkout that found nothing to order or a race lost twice: it says so.
    assert all("try again" in r.text or "nothing" in r.text for _, r in results if r.status_code == 409)
    cart = Cart.objects.get(user=mona, status=Cart.Status.OPEN)
    in_cart = dict(CartItem.objects.filter(cart=cart).values_list("product_id", "quantity"))
    ordered = dict(
        OrderLine.objects.filter(order__user=mona)
        .values("product_id")
        .annotate(n=Sum("quantity"))
        .values_list("product_id", "n")
    )
    added = sum(r.status_code == 302 for (_, data), (_, r) in zip(calls, results, strict=True) if data == carried_add)
    # Every unit of the carried product that was added (3 by the guest, 1 per add answered 302) is in the
    # cart or in an order, and the stock lost exactly what the orders took.
    assert in_cart.get(carried.pk, 0) + ordered.get(carried.pk, 0) == 3 + added
    for product in (contested, carried):
        product.refresh_from_db()
        assert product.stock == 1000 - ordered.get(product.pk, 0)
    summary = requests.get(f"{url}/cart/summary/", cookies=cookies, headers=headers, timeout=TIMEOUT).json()
    assert {line["product"]: line["quantity"] for line in summary["lines"]} == in_cart


def _the_add_waits_for_the_product(cursor) -> bool:
    """Whether the add's transaction, holding the cart, waits at its commit (the new line's deferred key check)."""
    cursor.execute("SELECT pg_stat_clear_snapshot()")  # pg_stat_activity is read once per transaction otherwise
    cursor.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query = 'COMMIT'"
        " AND datname = current_database()"
    )
    return cursor.fetchone()[0] == 1


@pytest.mark.parametrize("deadlocks, status, vases", [(1, 302, 1), (2, 409, 0)])
def test_an_add_caught_in_a_real_deadlock_is_run_again_once_then_answered_409_with_the_reason(
    serve, deadlocks, status, vases
):
    """The add holds the cart and waits for the product's row; this connection holds that row and asks for the cart."""
    url = serve()
    mug, vase = ProductFactory.create_batch(2, stock=10)
    cookies = _guest_with_cart(url, mug.pk, 1)
    cart = Cart.objects.get()
    with ThreadPoolExecutor(max_workers=1) as pool:
        with transaction.atomic(), connection.cursor() as cursor:
            # This side waits longest, so PostgreSQL picks the add's transaction to end each time.
            cursor.execute("SET LOCAL deadlock_timeout = '60s'")
            # The add's new line is checked against the product's row at its commit: this transaction holds it.
            cursor.execute("SELECT id FROM cart_product WHERE id = %s FOR UPDATE", [vase.pk])
            answer = pool.submit(_post, f"{url}/cart/add/", {"product": vase.pk}, cookies)
            for _ in range(deadlocks):  # the add, then its one retry
                wait_until(lambda: _the_add_waits_for_the_product(cursor), "the add waiting for the product")
                point = transaction.savepoint()
                cursor.execute("UPDATE cart_cart SET updated_at = now() WHERE id = %s", [cart.pk])
                transaction.savepoint_rollback(point)  # the cart is free again, the product still held
        response = answer.result(timeout=TIMEOUT)
    assert response.status_code == status
    if status == 409:
        assert MSG_CONFLICT in response.text
    assert dict(CartItem.objects.filter(cart=cart).values_list("product_id", "quantity")) == {
        mug.pk: 1,
        **({vase.pk: 1} if vases else {}),
    }
    summary = requests.get(f"{url}/cart/summary/", cookies=cookies, timeout=TIMEOUT).json()
    assert summary["count"] == 1 + vases
