"""Parallel requests on one cart: row locks, not luck, keep every unit (PostgreSQL only)."""
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from cart.models import Cart, CartItem
from tests.factories import PASSWORD, ProductFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PARALLEL_ADDS = 40
PRODUCTS = 8
MERGE_ROUNDS = 5
TIMEOUT = 30  # seconds per request: a lock that never clears fails the test, not the run


def _guest_with_cart(base_url: str, product_id: int, quantity: int) -> dict[str, str]:
    """Browse, add `quantity` of a product as a guest, and return the guest's cookies."""
    browser = requests.Session()
    browser.get(f"{base_url}/", timeout=TIMEOUT).raise_for_status()
    response = browser.post(
        f"{base_url}/cart/add/",
        data={
            "product": product_id,
            "quantity": quantity,
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
        },
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert response.status_code == 302, response.text
    assert "sessionid" in browser.cookies, "the first add-to-cart must start a session"
    return {"sessionid": browser.cookies["sessionid"], "csrftoken": browser.cookies["csrftoken"]}


def _post(url: str, data: dict, cookies: dict[str, str]) -> requests.Response:
    # A fresh request per call: one cookie jar shared between threads is not
    # what a browser does, and every call presents exactly the guest's cookies.
    return requests.post(
        url,
        data={**data, "csrfmiddlewaretoken": cookies["csrftoken"]},
        cookies=cookies,
        allow_redirects=False,
        timeout=TIMEOUT,
    )


def test_parallel_add_to_cart_loses_nothing(live_server):
    products = ProductFactory.create_batch(PRODUCTS, stock=100)
    cookies = _guest_with_cart(live_server.url, products[0].pk, 1)
    sent = Counter({products[0].pk: 1})
    # 40 adds of one unit, 5 per product: every line stays within MAX_LINE_QUANTITY.
    batch = [products[i % PRODUCTS].pk for i in range(PARALLEL_ADDS)]
    sent.update(batch)

    def add(product_id):
        return _post(f"{live_server.url}/cart/add/", {"product": product_id, "quantity": 1, "next": "/"}, cookies)

    with ThreadPoolExecutor(max_workers=PARALLEL_ADDS) as pool:
        responses = list(pool.map(add, batch))

    statuses = Counter(response.status_code for response in responses)
    assert statuses == {302: PARALLEL_ADDS}, statuses
    assert {response.headers["Location"] for response in responses} == {"/"}
    guest_cart = Cart.objects.get(user__isnull=True, status=Cart.Status.OPEN)
    assert dict(CartItem.objects.filter(cart=guest_cart).values_list("product_id", "quantity")) == dict(sent)
    assert Cart.objects.count() == 1, "every request must find the session's one cart"
    summary = requests.get(f"{live_server.url}/cart/summary/", cookies=cookies, timeout=TIMEOUT).json()
    assert summary["count"] == PARALLEL_ADDS + 1
    assert {line["product"]: line["quantity"] for line in summary["lines"]} == dict(sent)
    assert summary["total"] == f"{sum(product.price * sent[product.pk] for product in products):.2f}"


def test_two_parallel_sign_ins_merge_the_guest_cart_once(live_server):
    product = ProductFactory(stock=100)
    # Both sign-ins reach the merge only when the second one reads the guest
    # session before the first one's login() has rotated it away: nearly always
    # with the fast test hasher, about half the time with PBKDF2. Independent
    # rounds make a merge without its row lock fail either way.
    for round_ in range(MERGE_ROUNDS):
        user = UserFactory(username=f"erin{round_}")
        cookies = _guest_with_cart(live_server.url, product.pk, 3)
        guest_cart = Cart.objects.get(user__isnull=True, status=Cart.Status.OPEN)
        barrier = threading.Barrier(2, timeout=TIMEOUT)

        def sign_in(_):
            barrier.wait()  # both requests leave together, with the same guest session
            return _post(
                f"{live_server.url}/accounts/login/",
                {"username": user.username, "password": PASSWORD, "next": "/cart/"},
                cookies,
            )

        with ThreadPoolExecutor(max_workers=2) as pool:
            responses = list(pool.map(sign_in, range(2)))

        assert [response.status_code for response in responses] == [302, 302], [r.text for r in responses]
        assert [response.headers["Location"] for response in responses] == ["/cart/", "/cart/"]
        account_cart = Cart.objects.get(user=user, status=Cart.Status.OPEN)
        assert list(account_cart.items.values_list("product_id", "quantity")) == [(product.pk, 3)], round_
        guest_cart.refresh_from_db()
        assert guest_cart.status == Cart.Status.MERGED
        assert guest_cart.merged_into == account_cart
        assert not guest_cart.items.exists()
