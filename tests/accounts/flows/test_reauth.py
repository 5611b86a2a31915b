"""Re-authentication before critical actions, and the account page's actions."""

from decimal import Decimal

import pytest
from django.test import Client

from accounts.models import AuditEvent, Session, hash_key
from cart.models import Order
from tests.conftest import SESSION_COOKIE, asks_for_the_factors, confirm_it_is_me, sign_in
from tests.factories import (
    PASSWORD,
    CartFactory,
    CartItemFactory,
    OrderFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PAST_WINDOW = 301


@pytest.fixture
def stale(signed_in, clock):
    """Signed in more than REAUTH_WINDOW ago, and active since (the idle limit is far off)."""
    clock.shift(PAST_WINDOW)
    return signed_in


def reauth(client, next_url, password=PASSWORD, **extra):
    return client.post("/accounts/reauth/", {"password": password, "next": next_url, **extra})


# Every critical action of SECURITY.md's re-authentication section, as a request.
CRITICAL_ACTIONS = [
    ("post", "/checkout/", {"address": "1 Main St"}),
    ("post", "/accounts/email/", {"email": "new@example.com"}),
    ("get", "/accounts/password/", {}),
    (
        "post",
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": "x-long-passphrase-1", "new_password2": "x-long-passphrase-1"},
    ),
    ("get", "/accounts/mfa/", {}),
    ("post", "/accounts/mfa/", {"otp_token": "123456"}),
    ("get", "/accounts/mfa/disable/", {}),
    ("post", "/accounts/mfa/disable/", {}),
    ("post", "/accounts/mfa/recovery-codes/", {}),
    ("post", "/accounts/sessions/revoke-others/", {}),
    ("post", "/accounts/sessions/PUBLIC_ID/revoke/", {}),
    ("post", "/accounts/delete/", {"confirm_username": "alice"}),
]


@pytest.mark.parametrize(("method", "path", "data"), CRITICAL_ACTIONS)
def test_every_critical_action_asks_to_reauthenticate_after_the_window(stale, user, method, path, data):
    CartItemFactory(cart=CartFactory(user=user))
    path = path.replace("PUBLIC_ID", Session.objects.get(user=user).public_id)
    response = getattr(stale, method)(path, data)
    if method == "get":
        assert response.status_code == 302 and response["Location"].startswith("/accounts/reauth/?next=")
    else:  # one screen, the form posting back to the action itself
        page = response.content.decode()
        assert response.status_code == 200 and "Confirm it's you" in page and f'action="{path}"' in page
    user.refresh_from_db()
    assert user.email == "alice@example.com" and user.check_password(PASSWORD) and user.is_active
    assert not Order.objects.exists()
    assert Session.objects.filter(user=user).exists()


def test_sign_in_counts_as_authenticating(signed_in, user):
    CartItemFactory(cart=CartFactory(user=user))
    response = signed_in.post("/checkout/", {"address": "1 Main St"})
    assert response["Location"].startswith("/orders/")


def test_window_expires_with_the_clock(signed_in, user, clock):
    CartItemFactory(cart=CartFactory(user=user))
    confirm_it_is_me(signed_in)
    clock.shift(299)
    assert signed_in.get("/accounts/password/").status_code == 200
    clock.shift(3)
    assert signed_in.get("/accounts/password/")["Location"] == "/accounts/reauth/?next=%2Faccounts%2Fpassword%2F"


def test_reauth_rotates_the_key_and_opens_the_window(stale):
    key = stale.cookies[SESSION_COOKIE].value
    response = reauth(stale, "/accounts/password/")
    assert response["Location"] == "/accounts/password/"
    assert stale.cookies[SESSION_COOKIE].value != key
    replay = Client()
    replay.cookies[SESSION_COOKIE] = key
    assert "Signed in as" not in replay.get("/").content.decode()
    assert stale.get("/accounts/password/").status_code == 200
    assert AuditEvent.objects.filter(event="authn_reauthenticated").exists()


def test_one_screen_names_the_action_and_its_amount_then_places_the_order(stale, user):
    CartItemFactory(cart=CartFactory(user=user), product__price=Decimal("72.25"), quantity=1)
    response = stale.post(
        "/checkout/", {"address": "1 Main St\nSpringfield"}, HTTP_REFERER="http://testserver/checkout/"
    )
    page = response.content.decode()
    assert "Enter your password to place this €72.25 order." in page
    assert 'name="address" value="1 Main St\nSpringfield"' in page and 'action="/checkout/"' in page
    assert ">Place this €72.25 order</button>" in page
    assert '<a href="http://testserver/checkout/" data-testid="reauth-back">' in page  # a way back
    assert not Order.objects.exists()
    response = stale.post("/checkout/", {"address": "1 Main St\nSpringfield", "reauth-password": PASSWORD})
    order = Order.objects.get()
    assert response["Location"] == f"/orders/{order.number}/" and order.address == "1 Main St\nSpringfield"
    assert AuditEvent.objects.filter(event="authn_reauthenticated").count() == 1


def test_a_wrong_password_on_the_one_screen_does_nothing_and_says_so(stale, user):
    CartItemFactory(cart=CartFactory(user=user))
    response = stale.post("/checkout/", {"address": "1 Main St", "reauth-password": "wrong"})
    assert response.status_code == 400 and "That is not your password." in response.content.decode()
    assert not Order.objects.exists()
    assert AuditEvent.objects.filter(event="authn_login_fail").exists()


def test_the_way_back_never_leaves_the_site(stale, user):
    CartItemFactory(cart=CartFactory(user=user))
    page = stale.post("/checkout/", {"address": "x"}, HTTP_REFERER="https://evil.example/").content.decode()
    assert '<a href="/accounts/" data-testid="reauth-back">' in page


def test_passwords_are_never_held_while_reauthenticating(stale):
    stale.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": "x-long-passphrase-1", "new_password2": "x-long-passphrase-1"},
    )
    row = Session.objects.get(session_key=hash_key(stale.cookies[SESSION_COOKIE].value))
    assert "x-long-passphrase-1" not in str(row.get_decoded())
    page = stale.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": "x-long-passphrase-1", "new_password2": "x-long-passphrase-1"},
    ).content.decode()
    assert "x-long-passphrase-1" not in page and PASSWORD not in page


def test_reauth_page_needs_a_signed_in_user(client):
    assert client.get("/accounts/reauth/")["Location"].startswith("/accounts/login/")


class TestAccountPage:
    def test_account_page_shows_profile_mfa_and_devices(self, signed_in):
        page = signed_in.get("/accounts/").content.decode()
        for text in ["alice@example.com", "Off: your password alone", "signed in on 1 device", "Delete your account"]:
            assert text in page

    def test_email_change_waits_for_the_new_address_and_tells_the_old_one(self, signed_in, user, mailoutbox):
        confirm_it_is_me(signed_in)
        response = signed_in.post("/accounts/email/", {"email": "alice@new.example"})
        assert response["Location"] == "/accounts/"
        user.refresh_from_db()
        assert user.email == "alice@example.com"
        assert sorted(mail.to[0] for mail in mailoutbox) == ["alice@example.com", "alice@new.example"]

    def test_bad_email_is_a_400_with_the_form(self, signed_in, user):
        confirm_it_is_me(signed_in)
        response = signed_in.post("/accounts/email/", {"email": "not-an-email"})
        assert response.status_code == 400 and "Enter a valid email address." in response.content.decode()

    def test_password_change_can_keep_other_devices(self, signed_in, user, mailoutbox):
        other = Client()
        sign_in(other)
        confirm_it_is_me(signed_in)
        signed_in.post(
            "/accounts/password/",
            {
                "old_password": PASSWORD,
                "new_password1": "x-long-passphrase-1",
                "new_password2": "x-long-passphrase-1",
                "keep_other_sessions": "on",
            },
        )
        assert "Signed in as" in other.get("/").content.decode()
        assert mailoutbox[-1].subject == "[shopdemo] Your password was changed"

    def test_deleting_needs_the_typed_username(self, signed_in, user):
        confirm_it_is_me(signed_in)
        response = signed_in.post("/accounts/delete/", {"confirm_username": "alicia"})
        assert response.status_code == 400 and "nothing was deleted" in response.content.decode()
        user.refresh_from_db()
        assert user.is_active

    def test_deleting_ends_every_session_and_keeps_orders_anonymised(self, signed_in, user):
        order = OrderFactory(user=user)
        other = Client()
        sign_in(other)
        confirm_it_is_me(signed_in)
        response = signed_in.post("/accounts/delete/", {"confirm_username": "alice"})
        assert response["Clear-Site-Data"] == '"cache", "cookies", "storage"'
        assert not type(user).objects.filter(username="alice").exists()
        assert not Session.objects.exists()
        assert "Signed in as" not in other.get("/").content.decode()
        order.refresh_from_db()
        assert order.user is None  # kept for the books, without a name
        assert AuditEvent.objects.filter(event="account_deleted", username="alice").exists()

    def test_other_users_are_untouched(self, signed_in):
        bob = UserFactory(username="bob")
        confirm_it_is_me(signed_in)
        signed_in.post("/accounts/delete/", {"confirm_username": "alice"})
        assert type(bob).objects.filter(username="bob").exists()


def test_a_refused_form_does_not_spend_the_re_authentication(signed_in, user):
    confirm_it_is_me(signed_in)
    assert signed_in.post("/accounts/email/", {"email": "not-an-email"}).status_code == 400
    assert signed_in.post("/accounts/email/", {"email": "alice@new.example"})["Location"] == "/accounts/"
    assert asks_for_the_factors(signed_in.post("/accounts/email/", {"email": "alice@newer.example"}))


def test_the_sign_in_does_not_count_for_factor_changes(signed_in, user):
    response = signed_in.post("/accounts/email/", {"email": "alice@new.example"})
    assert asks_for_the_factors(response) and "to change your email address" in response.content.decode()
