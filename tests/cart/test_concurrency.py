"""Parallel requests on one cart: row locks, not luck, keep every unit (PostgreSQL only)."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from cart.models import Cart, CartItem, Order
from tests.conftest import SESSION_COOKIE
from tests.factories import PASSWORD, ProductFactory, UserFactory
from tests.servers import server_user, signed_in_browser

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PARALLEL_ADDS = 200
PRODUCTS = 40
CLIENT_THREADS = 50  # requests in flight at once
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
    assert SESSION_COOKIE in browser.cookies, "the first add-to-cart must start a session"
    return {name: browser.cookies[name] for name in (SESSION_COOKIE, "sessionid_same_site", "csrftoken")}


def _post(url: str, data: dict, cookies: dict[str, str], headers=None) -> requests.Response:
    # A fresh request per call: one cookie jar shared between threads is not
    # what a browser does, and every call presents exactly the guest's cookies.
    return requests.post(
        url,
        data={**data, "csrfmiddlewaretoken": cookies["csrftoken"]},
        cookies=cookies,
        headers=headers,
        allow_redirects=False,
        timeout=TIMEOUT,
    )


def test_parallel_add_to_cart_loses_nothing(serve):
    url = serve()
    products = ProductFactory.create_batch(PRODUCTS, stock=100)
    cookies = _guest_with_cart(url, products[0].pk, 1)
    sent = Counter({products[0].pk: 1})
    # 200 adds of one unit, 5 per product: every line stays within MAX_LINE_QUANTITY.
    batch = [products[i % PRODUCTS].pk for i in range(PARALLEL_ADDS)]
    sent.update(batch)

    def add(product_id):
        return _post(f"{url}/cart/add/", {"product": product_id, "quantity": 1, "next": "/"}, cookies)

    with ThreadPoolExecutor(max_workers=CLIENT_THREADS) as pool:
        responses = list(pool.map(add, batch))

    statuses = Counter(response.status_code for response in responses)
    assert statuses == {302: PARALLEL_ADDS}, statuses
    assert {response.headers["Location"] for response in responses} == {"/"}
    guest_cart = Cart.objects.get(user__isnull=True, status=Cart.Status.OPEN)
    assert dict(CartItem.objects.filter(cart=guest_cart).values_list("product_id", "quantity")) == dict(sent)
    assert Cart.objects.count() == 1, "every request must find the session's one cart"
    summary = requests.get(f"{url}/cart/summary/", cookies=cookies, timeout=TIMEOUT).json()
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


CHECKOUT_RACERS = 20


def test_parallel_checkouts_for_the_last_unit_make_exactly_one_order(serve):
    """20 buyers, one unit left: one order, stock never negative, the others told why."""
    url = serve()
    product = ProductFactory(name="Kiln Bowl", stock=1)
    buyers = []
    for n in range(CHECKOUT_RACERS):
        browser = signed_in_browser(url, server_user(f"buyer{n}").username)
        _post(f"{url}/cart/add/", {"product": product.pk}, browser.cookies.get_dict(), browser.headers)
        buyers.append(browser)
    start = threading.Barrier(CHECKOUT_RACERS)

    def checkout(browser):
        start.wait(timeout=TIMEOUT)
        return _post(f"{url}/checkout/", {"address": ""}, browser.cookies.get_dict(), browser.headers)

    with ThreadPoolExecutor(max_workers=CHECKOUT_RACERS) as pool:
        responses = list(pool.map(checkout, buyers))

    statuses = Counter(response.status_code for response in responses)
    assert statuses == {302: 1, 409: CHECKOUT_RACERS - 1}, statuses
    # Racers who read the last unit as there get "Only 0 left"; later ones find it sold out.
    assert all(
        "Kiln Bowl" in r.text and ("Only 0 of" in r.text or "sold out" in r.text)
        for r in responses
        if r.status_code == 409
    )
    product.refresh_from_db()
    assert product.stock == 0
    assert Order.objects.count() == 1 and Order.objects.get().lines.get().quantity == 1


GUEST_AND_CUSTOMER_ROUNDS = 5


def test_a_guest_and_a_customer_racing_for_the_last_unit_make_exactly_one_order(serve):
    """The guest's checkout takes stock under the same guard as the customer's: one of them gets the unit."""
    url = serve()
    customer = signed_in_browser(url, server_user("carol").username)
    winners = Counter()
    for round_ in range(GUEST_AND_CUSTOMER_ROUNDS):
        product = ProductFactory(name=f"Kiln Bowl {round_}", stock=1)
        guest = _guest_with_cart(url, product.pk, 1)
        _post(f"{url}/cart/add/", {"product": product.pk}, customer.cookies.get_dict(), customer.headers)
        start = threading.Barrier(2)

        def checkout(buyer):
            start.wait(timeout=TIMEOUT)
            if buyer == "guest":
                return _post(f"{url}/checkout/", {"email": "gwen@example.com", "address": ""}, guest)
            return _post(f"{url}/checkout/", {"address": ""}, customer.cookies.get_dict(), customer.headers)

        with ThreadPoolExecutor(max_workers=2) as pool:
            answers = dict(zip(["guest", "customer"], pool.map(checkout, ["guest", "customer"])))

        statuses = sorted(answer.status_code for answer in answers.values())
        assert statuses == [302, 409], {buyer: answer.text for buyer, answer in answers.items()}
        product.refresh_from_db()
        assert product.stock == 0
        (order,) = Order.objects.filter(lines__product=product)
        winners["guest" if order.email else "customer"] += 1
        assert order.lines.get().quantity == 1
        # The customer's cart keeps the line the guest got first (and the other way round): remove it.
        CartItem.objects.filter(product=product).delete()
    assert sum(winners.values()) == GUEST_AND_CUSTOMER_ROUNDS


def test_parallel_requests_straddling_a_rotation_are_all_served_as_the_user(serve):
    """With rotation due on every request, 20 tabs sending the same key at once all stay signed in."""
    url = serve(SESSION_ROTATE_INTERVAL="0")
    browser = signed_in_browser(url, server_user("alice").username)
    cookies, headers = browser.cookies.get_dict(), dict(browser.headers)
    start = threading.Barrier(CHECKOUT_RACERS)

    def tab(_):
        start.wait(timeout=TIMEOUT)
        return requests.get(f"{url}/cart/", cookies=cookies, headers=headers, timeout=TIMEOUT)

    with ThreadPoolExecutor(max_workers=CHECKOUT_RACERS) as pool:
        pages = list(pool.map(tab, range(CHECKOUT_RACERS)))

    assert [page.status_code for page in pages] == [200] * CHECKOUT_RACERS
    assert all("Signed in as </span><strong>alice</strong>" in page.text for page in pages)
    new_keys = {page.cookies[SESSION_COOKIE] for page in pages if SESSION_COOKIE in page.cookies} - {
        cookies["sessionid"]
    }
    assert new_keys, "the key was rotated"
    # A tab carrying whichever new key it was given is still alice.
    follow_up = requests.get(
        f"{url}/cart/", cookies={**cookies, SESSION_COOKIE: new_keys.pop()}, headers=headers, timeout=TIMEOUT
    )
    assert "Signed in as </span><strong>alice</strong>" in follow_up.text
