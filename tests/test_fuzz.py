"""Random input at the cart, sign-in and guest checkout forms never gets a 5xx.

Hypothesis sends random unicode, lengths and numbers; a refused change must
leave the cart exactly as it was.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cart.models import Order
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Numbers as people and scripts send them, plus anything at all.
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=40),
    st.text(max_size=5000),
)


@pytest.fixture
def shopper(client):
    """A guest with one line in the cart, so refusals have something to leave unchanged."""
    product = ProductFactory(stock=50)
    client.post("/cart/add/", {"product": product.pk, "quantity": 2})
    return client, product


@FUZZ
@given(action=st.sampled_from(["add", "update", "remove"]), product=NUMBERS, quantity=NUMBERS, next_url=NUMBERS)
def test_cart_forms_answer_random_input_without_a_5xx_and_a_refusal_changes_nothing(
    shopper, action, product, quantity, next_url
):
    client, _ = shopper
    before = client.get("/cart/summary/").json()
    response = client.post(f"/cart/{action}/", {"product": product, "quantity": quantity, "next": next_url})
    assert response.status_code < 500
    if response.status_code >= 400:
        assert client.get("/cart/summary/").json() == before


@FUZZ
@given(
    username=st.text(max_size=400),
    password=st.text(max_size=2000),
    remember=st.one_of(st.just("on"), st.text(max_size=10)),
    next_url=st.text(max_size=300),
)
def test_the_sign_in_form_answers_random_input_without_a_5xx_or_a_sign_in(
    shopper, user, username, password, remember, next_url
):
    client, _ = shopper
    before = client.get("/cart/summary/").json()
    response = client.post(
        "/accounts/login/", {"username": username, "password": password, "remember_me": remember, "next": next_url}
    )
    assert response.status_code < 500
    assert "Signed in as" not in client.get("/").content.decode()
    assert client.get("/cart/summary/").json() == before


@FUZZ
@given(email=st.one_of(st.emails().map(str), st.text(max_size=400)), address=st.text(max_size=700))
def test_the_guest_checkout_answers_random_input_without_a_5xx_and_a_refusal_orders_nothing(shopper, email, address):
    client, _ = shopper
    before = (client.get("/cart/summary/").json(), Order.objects.count())
    response = client.post("/checkout/", {"email": email, "address": address})
    assert response.status_code < 500
    if response.status_code >= 400:
        assert (client.get("/cart/summary/").json(), Order.objects.count()) == before
