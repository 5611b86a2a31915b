"""An account whose first factor is a passkey: made from /accounts/register/ (or the order page's link to it).

The browser's part is played by tests/authenticator.py's software authenticator,
as in tests/accounts/flows/test_passkeys.py.
"""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_otp_webauthn.models import WebAuthnCredential, WebAuthnUserHandle

from accounts.flows.passkeys import MSG_LAST_WAY_IN
from accounts.forms import MSG_NO_PASSWORD
from accounts.models import AuditEvent, Session
from accounts.sessions import policy as session_policy
from accounts.views.account import MSG_REGISTER_THROTTLED
from cart.models import Order
from tests.accounts.flows.test_email import NEW_PASSWORD, email_state_on_page, mails_to
from tests.accounts.flows.test_mfa import enrol
from tests.accounts.flows.test_passkeys import CHROME_LINUX, passkey_reauth, passkey_sign_in, post_json
from tests.accounts.flows.test_password_reset import RESET, ask
from tests.accounts.flows.test_password_reset import link_in as reset_link_in
from tests.authenticator import ORIGIN, SoftAuthenticator, unb64url
from tests.conftest import is_signed_in, sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

GUEST = "gwen@example.com"
BEGIN, COMPLETE = "/accounts/passkeys/sign-up/begin/", "/accounts/passkeys/sign-up/complete/"
PASSKEY_STEP = "/accounts/register/passkey/"


@pytest.fixture(autouse=True)
def test_client_origin(settings):
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [ORIGIN]


@pytest.fixture
def client():
    return Client(HTTP_USER_AGENT=CHROME_LINUX)


def ask_for_passkey_account(client, username="gwen", email=GUEST, next_url=""):
    """Submit the registration form with its "Create account with a passkey" button; return the answer."""
    data = {"username": username, "email": email, "passkey": "on"}
    return client.post("/accounts/register/", {**data, "next": next_url} if next_url else data)


def begin(client) -> dict:
    options = post_json(client, BEGIN)
    assert options.status_code == 200, options.content
    return options.json()


def sign_up_with_passkey(client, username="gwen", email=GUEST, authenticator=None, next_url=""):
    """The whole passkey path: the form, the ceremony's two steps; return the authenticator and the answer."""
    held = ask_for_passkey_account(client, username, email, next_url)
    assert held.status_code == 302, held.content
    authenticator = authenticator or SoftAuthenticator()
    return authenticator, post_json(client, COMPLETE, authenticator.create(begin(client)))


def test_the_register_page_offers_a_passkey_besides_the_password(client):
    page = client.get("/accounts/register/?email=gwen%40example.com").content.decode()
    # Hidden until static/js/passkeys.js has seen that the browser can make passkeys: the password path stays.
    assert 'name="passkey" value="on"' in page and "data-passkey-sign-up-button hidden" in page
    assert "Create account with a passkey" in page and 'name="password1"' in page and f'value="{GUEST}"' in page


def test_nothing_exists_until_the_passkey_is_made(client):
    held = ask_for_passkey_account(client, next_url="/orders/")
    assert held["Location"] == f"{PASSKEY_STEP}?next=%2Forders%2F"
    assert not get_user_model().objects.filter(username="gwen").exists()
    step = client.get(held["Location"]).content.decode()
    assert "<strong>gwen</strong>" in step and GUEST in step and 'data-next="/orders/"' in step
    assert "Use a password instead" in step and "email=gwen%40example.com" in step
    assert 'id="passkey-register-button"' in step and "/accounts/passkeys/sign-up/begin/" in step
    options = begin(client)
    # For the account-to-be: its name, a fresh 64-byte handle, a discoverable passkey that verifies its user.
    assert options["user"]["name"] == "gwen" and len(unb64url(options["user"]["id"])) == 64
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["authenticatorSelection"]["residentKey"] == "required" and options["excludeCredentials"] == []
    assert not get_user_model().objects.filter(username="gwen").exists() and not WebAuthnUserHandle.objects.exists()


def test_the_passkey_step_without_a_pending_registration_goes_back_to_the_form(client):
    assert client.get(PASSKEY_STEP)["Location"] == "/accounts/register/"


def test_a_guest_creates_the_account_from_the_order_page_with_a_passkey(
    client, product, mailoutbox, django_capture_on_commit_callbacks
):
    client.post("/cart/add/", {"product": product.pk, "quantity": 1})
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/checkout/", {"email": GUEST, "address": "1 Quay Street"})
    order = Order.objects.get()
    client.post("/cart/add/", {"product": product.pk, "quantity": 2})  # a cart started after the order
    with django_capture_on_commit_callbacks(execute=True):
        authenticator, done = sign_up_with_passkey(client, next_url="/orders/")
    assert done.status_code == 200, done.content
    # Where the page goes next (the order list) greets the new account, lists the order, says what it can add.
    greeted = client.get("/orders/").content.decode()
    assert "your account is ready, and your passkey signs you in" in greeted and Order.objects.get().number in greeted
    user = get_user_model().objects.get(username="gwen")
    # Signed in with the passkey it was made with, no password, as every registration otherwise:
    assert not user.has_usable_password() and user.email == GUEST
    (passkey,) = WebAuthnCredential.objects.filter(user=user)
    assert done.json()["id"] == passkey.pk and passkey.credential_id == authenticator.credential_id
    assert WebAuthnUserHandle.objects.get(user=user).handle == authenticator.user_handle
    assert is_signed_in(client)
    data = client.session
    assert data[session_policy.AUTH_METHOD] == session_policy.PASSKEY and session_policy.PASSKEY_SIGN_UP not in data
    # the order owned at once, the cart carried over, the address still to confirm by mail.
    order.refresh_from_db()
    assert order.user == user and order.claimed_at is not None
    assert client.get("/cart/summary/").json()["count"] == 2
    assert email_state_on_page(client) == "not confirmed"
    assert mails_to(mailoutbox, GUEST)[-1].subject == "[shopdemo] Confirm your email address"
    events = set(AuditEvent.objects.values_list("event", flat=True))
    assert {"authn_login_success", "orders_claimed", "authn_email_link_sent"} <= events


def test_the_account_page_says_it_signs_in_with_a_passkey_and_offers_a_password(client):
    sign_up_with_passkey(client)
    page = client.get("/accounts/").content.decode()
    assert "None: your account signs in with a passkey." in page and "Set a password" in page
    assert "Change your password" not in page and "after your password" not in page
    assert "make recovery codes" in page
    security = client.get("/accounts/mfa/")
    assert security.status_code == 200 and "Make recovery codes" in security.content.decode()


def test_the_passkey_form_is_the_register_form_its_messages_and_its_throttle(client, settings):
    UserFactory(username="taken")
    by_password = client.post(
        "/accounts/register/",
        {"username": "taken", "email": GUEST, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    by_passkey = ask_for_passkey_account(client, username="taken")
    assert by_passkey.status_code == by_password.status_code == 200
    assert "A user with that username already exists." in by_passkey.content.decode()
    assert not Session.objects.exists()  # nothing held for a form that was refused
    bad_email = ask_for_passkey_account(client, email="not an address")
    assert "Enter a valid email address." in bad_email.content.decode()
    settings.REGISTRATION_PER_IP_PER_HOUR = 4  # three used above (either button), and this one
    assert ask_for_passkey_account(client, username="gwen").status_code == 302
    throttled = ask_for_passkey_account(client, username="gwen2")
    assert throttled.status_code == 429 and MSG_REGISTER_THROTTLED in throttled.content.decode()


def test_the_account_signs_in_with_its_passkey_afterwards(client):
    authenticator, _ = sign_up_with_passkey(client)
    client.post("/accounts/logout/")
    assert not is_signed_in(client)
    signed_in = passkey_sign_in(client, authenticator)
    assert signed_in.status_code == 200, signed_in.content
    assert is_signed_in(client)


def test_reauth_asks_for_the_passkey_never_for_a_password(client):
    authenticator, _ = sign_up_with_passkey(client)
    page = client.get("/accounts/reauth/?next=/accounts/").content.decode()
    assert 'type="password"' not in page and "Confirm with a passkey" in page
    assert "use your password instead" not in page
    # Whatever is typed as a password, it is not one this account has: never checked, never counted.
    refused = client.post("/accounts/reauth/", {"password": "a-guess", "next": "/accounts/"})
    assert MSG_NO_PASSWORD in refused.content.decode()
    assert not AuditEvent.objects.filter(event="authn_login_fail").exists()
    passkey_reauth(client, authenticator)
    assert client.get("/accounts/password/").status_code == 200


def test_a_password_is_set_on_the_password_page_and_then_needs_the_passkey_too(client):
    authenticator, _ = sign_up_with_passkey(client)
    passkey_reauth(client, authenticator)
    form = client.get("/accounts/password/").content.decode()
    assert "<h1>Set a password</h1>" in form and "old_password" not in form
    done = client.post("/accounts/password/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    user = get_user_model().objects.get(username="gwen")
    assert user.check_password(NEW_PASSWORD)
    assert "Password set." in client.get(done["Location"]).content.decode()
    assert "Change your password" in client.get("/accounts/").content.decode()
    # The passkey, a second factor now, is asked for after the password.
    client.post("/accounts/logout/")
    assert sign_in(client, "gwen", NEW_PASSWORD)["Location"].startswith("/accounts/login/otp/")


def test_a_reset_link_sets_a_password_for_an_account_without_one(client, mailoutbox):
    sign_up_with_passkey(client)
    stranger = Client()
    ask(stranger, GUEST)
    uid, token = reset_link_in(mailoutbox[-1]).removeprefix(RESET).strip("/").split("/")
    form_url = stranger.get(f"{RESET}{uid}/{token}/")["Location"]
    done = stranger.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/accounts/login/"
    assert get_user_model().objects.get(username="gwen").check_password(NEW_PASSWORD)


def test_the_last_passkey_of_an_account_without_a_password_stays(client):
    authenticator, _ = sign_up_with_passkey(client)
    passkey = WebAuthnCredential.objects.get()
    for method in (client.get, client.post):
        passkey_reauth(client, authenticator)
        refused = method(f"/accounts/mfa/passkeys/{passkey.pk}/remove/")
        assert refused.status_code == 409 and MSG_LAST_WAY_IN in refused.content.decode()
    assert WebAuthnCredential.objects.filter(pk=passkey.pk).exists()
    # With a password, the same passkey may go (the password then signs in alone).
    passkey_reauth(client, authenticator)
    client.post("/accounts/password/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    passkey_reauth(client, authenticator)
    assert client.post(f"/accounts/mfa/passkeys/{passkey.pk}/remove/").status_code == 302
    assert not WebAuthnCredential.objects.exists()


def test_the_password_path_is_unchanged(client):
    data = {"username": "gwen", "email": GUEST, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    assert client.post("/accounts/register/", data).status_code == 302
    user = get_user_model().objects.get(username="gwen")
    assert user.check_password(NEW_PASSWORD) and not WebAuthnCredential.objects.exists()
    assert "Change your password" in client.get("/accounts/").content.decode()


def test_the_sign_in_security_pages_never_speak_of_a_password_it_does_not_have(client):
    authenticator, _ = sign_up_with_passkey(client)
    passkey_reauth(client, authenticator)
    codes_page = client.post("/accounts/mfa/recovery-codes/").content.decode()
    assert "<li><code>" in codes_page and "after your password" not in codes_page
    assert "after a password (set one on the password page" in codes_page
    _, codes = enrol(client)  # the authenticator app too: it applies to a password set later
    assert len(codes) == 10
    security = client.get("/accounts/mfa/").content.decode()
    assert "Once you set a password, signing in with it asks for a code" in security
    passkey_reauth(client, authenticator)
    off = client.get("/accounts/mfa/disable/").content.decode()
    assert "Your passkeys keep signing you in" in off and "anyone who learns your password" not in off
    for page in (codes_page, security, off):
        assert "your password" not in page.replace("Forgot your password", "")
