"""Random input at every form, JSON endpoint and path parameter of the contract: never a 5xx.

Hypothesis sends random unicode (NUL and other control characters included), lengths and
numbers, the way a fuzzer or a broken client would; run on PostgreSQL, where a NUL, an
over-long value or a malformed address in a query is an error rather than a miss. A
refused change must leave the cart exactly as it was.
"""

import json
from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Session
from cart.models import Order
from tests.conftest import sign_in
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Any unicode a client can send (no lone surrogates: they cannot be encoded as UTF-8).
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)
LONG_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=3000)
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


# -- every form of the contract, signed in (so re-auth and ownership are in the way, not absent) --

SIGNED_IN_FORMS = {
    "/checkout/": ["address"],
    "/accounts/email/": ["email"],
    "/accounts/password/": ["old_password", "new_password1", "new_password2"],
    "/accounts/reauth/": ["password", "otp_token", "next"],
    "/accounts/mfa/": ["otp_token"],
    "/accounts/session/extend/": ["next"],
    "/accounts/sessions/revoke-others/": ["next"],
}
GUEST_FORMS = {
    "/accounts/register/": ["username", "email", "password1", "password2"],
    "/accounts/password/reset/": ["email"],
    "/accounts/login/otp/": ["otp_token"],
}


@pytest.fixture
def alice(user):
    """alice signed in through the real form, with one line in her cart."""
    client = Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36")
    sign_in(client, user.username)
    client.post("/cart/add/", {"product": ProductFactory(stock=50).pk, "quantity": 1})
    return client


@FUZZ
@given(path=st.sampled_from(sorted(SIGNED_IN_FORMS)), values=st.lists(LONG_TEXT, min_size=3, max_size=3))
def test_every_signed_in_form_answers_random_input_without_a_5xx(alice, path, values):
    response = alice.post(path, dict(zip(SIGNED_IN_FORMS[path], values, strict=False)))
    assert response.status_code < 500


@FUZZ
@given(path=st.sampled_from(sorted(GUEST_FORMS)), values=st.lists(LONG_TEXT, min_size=4, max_size=4))
def test_every_guest_form_answers_random_input_without_a_5xx(client, path, values):
    response = client.post(path, dict(zip(GUEST_FORMS[path], values, strict=False)))
    assert response.status_code < 500


# -- path parameters and queries ---------------------------------------------------

PATHS = [
    "/products/{}/",
    "/orders/{}/",
    "/orders/{}/link/{}/",
    "/accounts/email/undo/{}/",
    "/accounts/email/verify/{}/",
    "/accounts/password/reset/{}/set-password/",
    "/accounts/password/reset/{}/{}/",
    "/admin/accounts/session/{}/change/",
    "/admin/accounts/auditevent/{}/change/",
    "/admin/auth/user/{}/change/",
    "/admin/cart/order/{}/change/",
]
ADMIN_LISTS = ["/admin/accounts/auditevent/", "/admin/accounts/session/", "/admin/auth/user/", "/admin/cart/order/"]


@pytest.fixture
def staff(client):
    client.force_login(UserFactory(username="staffer", is_staff=True, is_superuser=True))
    return client


@FUZZ
@given(template=st.sampled_from(PATHS), parts=st.lists(TEXT.filter(bool), min_size=2, max_size=2))
def test_every_path_parameter_answers_random_input_without_a_5xx(staff, template, parts):
    path = template.format(*(quote(part, safe="") for part in parts))
    assert staff.get(path).status_code < 500


@FUZZ
@given(public_id=TEXT.filter(bool))
def test_revoking_a_random_session_id_answers_without_a_5xx_and_ends_nothing(alice, public_id):
    before = Session.objects.count()
    assert alice.post(f"/accounts/sessions/{quote(public_id, safe='')}/revoke/").status_code < 500
    assert Session.objects.count() == before


@FUZZ
@given(
    path=st.sampled_from(["/", "/cart/", "/cart/summary/", "/accounts/login/", *ADMIN_LISTS]),
    query=st.dictionaries(
        st.sampled_from(
            ["q", "sort", "category", "page", "next", "ip", "ip__in", "e", "o", "p", "event", "user__id__exact"]
        ),
        TEXT,
        max_size=3,
    ),
)
def test_every_query_answers_random_input_without_a_5xx(staff, path, query):
    assert staff.get(path, query).status_code < 500


# -- the JSON endpoints ------------------------------------------------------------

PASSKEY_ENDPOINTS = [
    f"/accounts/passkeys/{step}/{part}/"
    for step in ("register", "sign-in", "second-step", "reauth")
    for part in ("begin", "complete")
]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=20,
)
ANSWER_LIKE = st.fixed_dictionaries(
    {"id": TEXT, "rawId": TEXT, "type": TEXT, "response": st.dictionaries(TEXT, JSON_VALUES, max_size=4)}
)


@FUZZ
@given(
    path=st.sampled_from(PASSKEY_ENDPOINTS),
    body=st.one_of(
        st.binary(max_size=2000),
        JSON_VALUES.map(lambda value: json.dumps(value).encode()),
        ANSWER_LIKE.map(lambda value: json.dumps(value).encode()),
    ),
)
def test_every_passkey_endpoint_answers_random_bodies_without_a_5xx(alice, path, body):
    response = alice.post(path, body, content_type="application/json")
    assert response.status_code < 500
    if response.status_code == 429 and response["Content-Type"].startswith("text/html"):
        return  # enough refusals lock the account out (axes' lockout page); that is a refusal in words too
    if response.status_code >= 400:
        assert set(response.json()) == {"detail", "code"}  # the reason, in words
