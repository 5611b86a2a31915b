"""Input no browser would send, aimed at the columns behind the forms, paths and filters.

PostgreSQL refuses what SQLite stores without a word: a NUL character in text, a value
longer than its varchar, a malformed inet. Each request below was a 500 there; each must
be a 4xx (or the form again with a message), and store nothing.
"""

import pytest
from django.test import Client

from accounts.forms import EmailChangeForm
from accounts.models import AuditEvent, EmailState, Session
from cart.models import Order
from shopdemo.middleware import MSG_NUL
from tests.conftest import confirm_it_is_me, sign_in
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

LONG_EMAIL = "a" * 250 + "@example.com"  # a valid address to Django's form field (320), not to the column (254)


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(username="staffer", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def buyer(signed_in):
    signed_in.post("/cart/add/", {"product": ProductFactory(stock=5).pk, "quantity": 1})
    return signed_in


def test_an_email_change_to_an_address_longer_than_the_column_is_refused(signed_in, user):
    assert not EmailChangeForm({"email": LONG_EMAIL}).is_valid()
    response = signed_in.post("/accounts/email/", {"email": LONG_EMAIL})
    assert response.status_code < 500
    assert not EmailState.objects.filter(pending__startswith="aaaa").exists()


def test_registering_with_an_address_longer_than_the_column_shows_the_form_again(client):
    response = client.post(
        "/accounts/register/",
        {"username": "longmail", "email": LONG_EMAIL, "password1": "x-Strong-pass-42", "password2": "x-Strong-pass-42"},
    )
    assert response.status_code in (200, 400)
    assert "at most 254 characters" in response.content.decode()


def test_a_nul_byte_in_the_checkout_address_is_refused_and_places_no_order(buyer):
    response = buyer.post("/checkout/", {"address": "Main Street 1\x00"})
    assert response.status_code == 400
    assert response.content.decode() == MSG_NUL
    assert not Order.objects.exists()


def test_an_address_longer_than_the_column_is_refused_with_the_limit_not_cut_silently(buyer):
    response = buyer.post("/checkout/", {"address": "x" * 501})
    assert response.status_code == 400
    assert "at most 500 characters" in response.content.decode()
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/orders/A%00B/",
        "/accounts/sessions/x%00y/revoke/",
        "/admin/accounts/session/abc%00/change/",
        "/admin/accounts/auditevent/1%00/change/",
        "/admin/auth/user/%00/change/",
        "/products/mug%00/",
        "/accounts/email/verify/abc%00def/",
    ],
)
def test_a_nul_byte_in_a_path_is_a_400(staff_client, path):
    response = staff_client.post(path) if "revoke" in path else staff_client.get(path)
    assert response.status_code == 400


@pytest.mark.parametrize("query", ["q=%00", "ip=1%00", "next=/%00", "sort=%00name"])
def test_a_nul_byte_in_a_query_is_a_400(staff_client, query):
    assert staff_client.get(f"/admin/accounts/auditevent/?{query}").status_code == 400
    assert staff_client.get(f"/?{query}").status_code == 400


def test_a_nul_byte_in_a_form_field_is_a_400_before_any_view(client, user):
    response = client.post("/accounts/login/", {"username": "alice\x00", "password": "whatever"})
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(event="authn_login_fail").exists()  # nothing reached the sign-in


@pytest.mark.parametrize("path", ["/orders/" + "A" * 13 + "/", "/orders/A-B/", "/orders/%C3%A9/"])
def test_an_order_number_that_cannot_be_one_is_a_404(signed_in, path):
    assert signed_in.get(path).status_code == 404


@pytest.mark.parametrize("public_id", ["a" * 33, "a.b", "%C3%A9"])
def test_a_session_id_that_cannot_be_one_is_a_404(signed_in, public_id):
    assert signed_in.post(f"/accounts/sessions/{public_id}/revoke/").status_code == 404
    assert Session.objects.count() == 1


@pytest.mark.parametrize(
    "query", ["ip=notanip", "ip__exact=1.2.3", "ip__in=10.0.0.1,nope", "ip__gt=a", "ip__contains=10"]
)
def test_an_admin_filter_on_an_address_that_is_no_address_is_refused(staff_client, query):
    response = staff_client.get(f"/admin/accounts/auditevent/?{query}")
    assert response.status_code == 302
    assert response.url.endswith("?e=1")


@pytest.mark.parametrize("query", ["ip=10.0.0.1", "ip__in=10.0.0.1,::1", "ip__isnull=True"])
def test_an_admin_filter_on_a_real_address_still_works(staff_client, query):
    sign_in(Client())
    assert staff_client.get(f"/admin/accounts/auditevent/?{query}").status_code == 200


BEYOND_BIGINT = str(2**63)  # one past the largest id a BigAutoField (and SQLite's INTEGER) holds


@pytest.mark.parametrize("path", ["/cart/add/", "/cart/update/", "/cart/remove/"])
def test_a_product_id_past_the_largest_id_is_an_unknown_product(buyer, path):
    before = list(buyer.get("/cart/summary/").json()["lines"])
    response = buyer.post(path, {"product": BEYOND_BIGINT, "quantity": 0}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and response.json() == {"error": "Unknown product."}
    assert buyer.get("/cart/summary/").json()["lines"] == before


@pytest.mark.parametrize("action", ["rename", "remove"])
def test_a_passkey_id_past_the_largest_id_is_a_404(signed_in, action):
    confirm_it_is_me(signed_in)
    assert signed_in.get(f"/accounts/mfa/passkeys/{BEYOND_BIGINT}/{action}/").status_code in {404, 405}
    assert signed_in.post(f"/accounts/mfa/passkeys/{BEYOND_BIGINT}/{action}/", {"name": "x"}).status_code == 404
