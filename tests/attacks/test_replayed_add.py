"""One add-to-cart sent twice, hoping for units the shopper did not ask for.

Threat-model row: "An add-to-cart applied twice". A balancer resends an add whose server
died before answering (tests/test_cluster.py kills one mid-run), a shopper double-clicks,
a script replays the form. What they send is the rendered form: its `request_id`, which the
cart remembers with the product (the last 32 pairs) in the add's own transaction, under the
cart's lock (cart.services._record_request).
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from cart.models import Cart, CartItem
from tests.cart.test_concurrency import TIMEOUT, _guest_with_cart, _post
from tests.cart.test_views import units
from tests.factories import ProductFactory

PARALLEL_SENDS = 20


@pytest.mark.django_db
class TestAnAddSentTwice:
    """Each rendered add form carries a request_id: the same add sent again counts once."""

    def add(self, client, product, **fields):
        return client.post("/cart/add/", {"product": product.pk, "quantity": 2, **fields})

    def test_a_form_sent_twice_adds_once_and_answers_the_same(self, client, product):
        page = client.get(f"/products/{product.slug}/").content.decode()
        request_id = page.split('name="request_id" value="')[1].split('"')[0]
        first, again = (self.add(client, product, request_id=request_id) for _ in range(2))
        assert units(client) == 2
        assert first.status_code == again.status_code == 302 and first["Location"] == again["Location"]
        assert client.get(again["Location"]).content.decode().count("Added 2 × Basalt Mug.") == 2
        self.add(client, product, request_id="another-rendered-form")
        assert units(client) == 4

    def test_each_card_of_one_catalog_page_adds_once_with_the_pages_one_request_id(self, client, product):
        # The catalog's single add form carries one request_id for every card's button.
        other = ProductFactory(stock=5)
        page = client.get("/").content.decode()
        request_id = page.split('name="request_id" value="')[1].split('"')[0]
        for card in (product, other, product, other):  # each button, then each again (a double click)
            assert self.add(client, card, request_id=request_id, quantity=1).status_code == 302
        lines = {line["product"]: line["quantity"] for line in client.get("/cart/summary/").json()["lines"]}
        assert lines == {product.pk: 1, other.pk: 1}

    def test_each_page_renders_a_new_request_id(self, client, product):
        ids = {client.get("/").content.decode().split('name="request_id" value="')[1][:22] for _ in range(3)}
        assert len(ids) == 3

    def test_adds_without_one_each_count(self, client, product):
        self.add(client, product)
        self.add(client, product)
        assert units(client) == 4

    def test_a_damaged_request_id_is_refused_with_a_message(self, client, product):
        response = self.add(client, product, request_id="not valid!")
        assert response.status_code == 400
        assert "This form was damaged on the way" in response.content.decode()
        assert not Cart.objects.exists()

    def test_only_the_last_adds_are_remembered(self, client, product, settings):
        settings.MAX_LINE_QUANTITY = 100
        for n in range(40):
            self.add(client, product, request_id=f"request-number-{n:04d}", quantity=1)
        cart = Cart.objects.get()
        assert len(cart.recent_requests.split()) == 32
        assert self.add(client, product, request_id="request-number-0000", quantity=1).status_code == 302
        assert units(client) == 41  # the oldest is forgotten: counted as new


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_add_form_sent_in_parallel_adds_once_and_every_send_is_answered_alike(serve):
    """20 copies of one add at the same moment (a retry racing the first send): the cart's lock, then the id."""
    url = serve()
    product = ProductFactory(name="Kiln Bowl", stock=100)
    cookies = _guest_with_cart(url, product.pk, 1)
    start = threading.Barrier(PARALLEL_SENDS)

    def send(_):
        start.wait(timeout=TIMEOUT)
        form = {"product": product.pk, "quantity": 2, "next": "/", "request_id": "one-add-form-000000001"}
        return _post(f"{url}/cart/add/", form, cookies)

    with ThreadPoolExecutor(max_workers=PARALLEL_SENDS) as pool:
        responses = list(pool.map(send, range(PARALLEL_SENDS)))

    assert {(r.status_code, r.headers.get("Location")) for r in responses} == {(302, "/")}
    assert CartItem.objects.get(cart=Cart.objects.get()).quantity == 3
