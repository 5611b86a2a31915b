"""Sign-in, registration and sign-out: keys, cookies, cart carry-over (guessing: tests/attacks/)."""

import pytest
from django.test import Client

from accounts.models import Session, hash_key
from cart.models import Cart, CartItem
from tests.conftest import SESSION_COOKIE, sign_in
from tests.factories import CartFactory, CartItemFactory

pytestmark = pytest.mark.django_db


def cart_units(client):
    return client.get("/cart/summary/").json()["count"]


class TestSignIn:
    def test_guest_cart_survives_login(self, client, user, product):
        client.post("/cart/add/", {"product": product.pk, "quantity": 2})
        response = sign_in(client, user.username)
        assert response.status_code == 302
        assert cart_units(client) == 2
        messages = [str(m) for m in client.get("/cart/").context["messages"]]
        assert "We carried your cart over: 2 × Basalt Mug." in messages
        assert Cart.objects.get(user=user, status="open").items.get().quantity == 2

    def test_session_row_records_user_and_device(self, client, user):
        sign_in(client, user.username, HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0")
        row = Session.objects.get()
        assert row.user == user
        assert row.user_agent == "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
        assert row.ip == "127.0.0.1"
        assert row.session_key not in row.public_id

    def test_header_shows_the_signed_in_state(self, client, user):
        assert 'data-testid="auth-state">Guest' in client.get("/").content.decode()
        sign_in(client, user.username)
        assert '<span class="wide-only">Signed in as </span><strong>alice</strong>' in client.get("/").content.decode()

    def test_without_remember_me_the_cookie_is_a_browser_session_cookie(self, client, user):
        cookie = sign_in(client, user.username).cookies[SESSION_COOKIE]
        assert cookie["max-age"] == "" and cookie["expires"] == ""
        assert cookie["httponly"] and cookie["samesite"] == "Lax"

    def test_with_remember_me_the_cookie_persists(self, client, user, settings):
        cookie = sign_in(client, user.username, remember=True).cookies[SESSION_COOKIE]
        assert int(cookie["max-age"]) == settings.SESSION_REMEMBER_IDLE

    def test_unsafe_next_is_ignored(self, client, user):
        assert sign_in(client, user.username, next_url="https://evil.example/phish")["Location"] == "/"

    def test_account_cart_is_there_on_another_device(self, user, product, password):
        CartItemFactory(cart=CartFactory(user=user), product=product, quantity=4)
        other_device = Client()
        sign_in(other_device)
        assert cart_units(other_device) == 4


class TestRegister:
    def test_registration_signs_in_and_carries_the_cart(self, client, product):
        client.post("/cart/add/", {"product": product.pk, "quantity": 3})
        guest_key = client.cookies[SESSION_COOKIE].value
        response = client.post(
            "/accounts/register/",
            {
                "username": "newbie",
                "email": "newbie@example.com",
                "password1": "a-long-unusual-passphrase",
                "password2": "a-long-unusual-passphrase",
                "next": "/checkout/",
            },
        )
        assert response["Location"] == "/checkout/"
        assert client.cookies[SESSION_COOKIE].value != guest_key
        assert Session.objects.get().user.username == "newbie"
        assert CartItem.objects.get(cart__user__username="newbie").quantity == 3

    def test_invalid_registration_shows_the_form_again(self, client):
        response = client.post(
            "/accounts/register/",
            {"username": "x", "email": "not-an-email", "password1": "short", "password2": "other"},
        )
        assert response.status_code == 200
        assert "Enter a valid email address." in response.content.decode()
        assert not Session.objects.exists()


class TestSignOut:
    def test_sign_out_deletes_the_session_and_keeps_the_account_cart(self, client, user, product):
        client.post("/cart/add/", {"product": product.pk, "quantity": 2})
        sign_in(client, user.username)
        key = client.cookies[SESSION_COOKIE].value
        response = client.post("/accounts/logout/")
        assert response.status_code == 302
        assert response["Clear-Site-Data"] == '"cache", "cookies", "storage"'
        assert not Session.objects.filter(session_key=hash_key(key)).exists()
        assert cart_units(client) == 0
        sign_in(client, user.username)
        assert cart_units(client) == 2

    def test_sign_out_is_post_only(self, client, user):
        sign_in(client, user.username)
        assert client.get("/accounts/logout/").status_code == 405
        assert Session.objects.filter(user=user).exists()
