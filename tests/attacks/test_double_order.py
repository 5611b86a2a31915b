"""One checkout form sent twice, hoping for two orders: two charges of stock, two confirmation mails.

Threat-model row: "An order placed twice". No attacker is needed: the buyer sends the
same checkout form again after an error page that came after the commit (a server that
died answering), or clicks twice, or a balancer retries. What they have is the form: its
`request_id`, stored on the order and looked up under the cart's lock
(cart.services.order_place, _placed_from_form).
"""

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings

from cart.models import Order
from tests.cart.test_concurrency import CHECKOUT_RACERS, TIMEOUT, _post
from tests.cart.test_views import units
from tests.factories import CartFactory, CartItemFactory, ProductFactory
from tests.servers import server_user, signed_in_browser

REQUEST_ID = re.compile(r'name="request_id" value="([^"]+)"')


def form_id(client) -> str:
    """The request_id of the checkout form the client is shown now."""
    return REQUEST_ID.search(client.get("/checkout/").content.decode()).group(1)


@pytest.mark.django_db
class TestAnOrderSentTwice:
    """The checkout page's form carries a request_id: the same order sent again is placed once."""

    def test_the_same_form_sent_again_answers_with_the_first_order(self, client, user, product):
        CartItemFactory(cart=CartFactory(user=user), product=product, quantity=2)
        client.force_login(user)
        request_id = form_id(client)
        first = client.post("/checkout/", {"address": "1 Quay Street", "request_id": request_id})
        # The buyer saw an error page instead (a server died after the commit) and sends it again,
        # after putting the mug back in the cart.
        CartItemFactory(cart=user.carts.get(), product=product, quantity=2)
        again = client.post("/checkout/", {"address": "1 Quay Street", "request_id": request_id})
        order = Order.objects.get()
        assert first["Location"] == again["Location"] == f"/orders/{order.number}/"
        assert order.total == 25 + settings.SHIPPING_FLAT_RATE and units(client) == 2  # the new line stays in the cart

    def test_a_guests_form_sent_again_answers_with_the_first_order_and_mails_once(
        self, client, product, mailoutbox, django_capture_on_commit_callbacks
    ):
        client.post("/cart/add/", {"product": product.pk, "quantity": 2})
        fields = {"email": "gwen@example.com", "address": "1 Quay Street", "request_id": form_id(client)}
        with django_capture_on_commit_callbacks(execute=True):
            first = client.post("/checkout/", fields)
            client.post("/cart/add/", {"product": product.pk, "quantity": 2})  # the cart refilled meanwhile
            again = client.post("/checkout/", fields)
        order = Order.objects.get()
        assert first["Location"] == again["Location"] == f"/orders/{order.number}/"
        product.refresh_from_db()
        assert product.stock == 48 and units(client) == 2
        assert [mail.subject for mail in mailoutbox] == [f"[shopdemo] Your order {order.number}"]

    def test_another_guests_form_id_finds_no_order_of_someone_else(self, client, product):
        """The id is looked up among the session's own orders: sending someone's id places a new order."""
        client.post("/cart/add/", {"product": product.pk})
        request_id = form_id(client)
        client.post("/checkout/", {"email": "gwen@example.com", "request_id": request_id})
        client.cookies.clear()  # another browser, sending the same id
        client.post("/cart/add/", {"product": product.pk})
        answer = client.post("/checkout/", {"email": "mallory@example.com", "request_id": request_id})
        mine = Order.objects.get(email="mallory@example.com")
        assert answer["Location"] == f"/orders/{mine.number}/" and Order.objects.count() == 2

    def test_a_new_checkout_page_places_a_new_order(self, client, user, product):
        client.force_login(user)
        cart = CartFactory(user=user)
        for _ in range(2):
            CartItemFactory(cart=cart, product=product)
            assert client.post("/checkout/", {"request_id": form_id(client)}).status_code == 302
        assert Order.objects.count() == 2

    def test_a_damaged_form_id_is_refused_with_a_message(self, client, user, product):
        CartItemFactory(cart=CartFactory(user=user), product=product)
        client.force_login(user)
        response = client.post("/checkout/", {"request_id": "not an id!"})
        assert response.status_code == 400
        assert "This form was damaged on the way" in response.content.decode()
        assert not Order.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_checkout_form_sent_in_parallel_places_one_order_and_all_see_it(serve):
    """A retry racing the first send (a balancer's, a double click): the cart's lock, then the form's id."""
    url = serve()
    product = ProductFactory(name="Kiln Bowl", stock=50)
    browser = signed_in_browser(url, server_user("twice").username)
    _post(f"{url}/cart/add/", {"product": product.pk}, browser.cookies.get_dict(), browser.headers)
    start = threading.Barrier(CHECKOUT_RACERS)

    def checkout(_):
        start.wait(timeout=TIMEOUT)
        form = {"address": "", "request_id": "one-checkout-form-0001"}
        return _post(f"{url}/checkout/", form, browser.cookies.get_dict(), browser.headers)

    with ThreadPoolExecutor(max_workers=CHECKOUT_RACERS) as pool:
        responses = list(pool.map(checkout, range(CHECKOUT_RACERS)))

    order = Order.objects.get()
    assert {(r.status_code, r.headers.get("Location")) for r in responses} == {(302, f"/orders/{order.number}/")}
    product.refresh_from_db()
    assert product.stock == 49
