"""Passkeys: adding, naming and removing them; signing in with one, as a second step, and re-authenticating.

The browser's part is played by tests/authenticator.py, a software authenticator
that answers the server's options as a platform authenticator would, or misbehaves
on purpose (another origin, a counter that goes backwards, a forged signature).
"""

import json
import re
from decimal import Decimal

import pytest
from axes.models import AccessAttempt, AccessLog
from django.contrib.auth.models import AnonymousUser
from django.test import Client, RequestFactory
from django.utils import timezone
from django_otp.middleware import OTPMiddleware
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp_webauthn.models import WebAuthnCredential

from accounts.flows import passkeys
from accounts.models import AuditEvent, Session, hash_key
from accounts.sessions import policy as session_policy
from accounts.sessions.store import engine_store
from cart.models import CartItem
from tests.accounts.flows.test_mfa import enrol
from tests.authenticator import ORIGIN, SoftAuthenticator, b64url
from tests.conftest import SESSION_COOKIE, confirm_it_is_me, is_signed_in, sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHROME_LINUX = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:140.0) Gecko/20100101 Firefox/140.0"
JSON = "application/json"


def post_json(client, path: str, data=None, **headers):
    body = json.dumps(data) if data is not None else ""
    return client.post(path, body, content_type=JSON, **headers)


def add_passkey(client, authenticator=None, **headers) -> tuple[SoftAuthenticator, dict]:
    """Register a passkey through the endpoints the library's script calls; return it and the answer."""
    authenticator = authenticator or SoftAuthenticator()
    options = post_json(client, "/accounts/passkeys/register/begin/", **headers)
    assert options.status_code == 200, options.content
    answer = post_json(client, "/accounts/passkeys/register/complete/", authenticator.create(options.json()), **headers)
    assert answer.status_code == 200, answer.content
    return authenticator, answer.json()


def passkey_sign_in(client, authenticator, *, next_url="", **answer_options):
    """Sign in with `authenticator`'s passkey from the sign-in page; return the complete step's response."""
    options = post_json(client, "/accounts/passkeys/sign-in/begin/").json()
    query = f"?next={next_url}" if next_url else ""
    return post_json(
        client, f"/accounts/passkeys/sign-in/complete/{query}", authenticator.get(options, **answer_options)
    )


def passkey_reauth(client, authenticator):
    """Confirm it is you with the passkey, as factor changes ask every time."""
    options = post_json(client, "/accounts/passkeys/reauth/begin/").json()
    answer = post_json(client, "/accounts/passkeys/reauth/complete/", authenticator.get(options))
    assert answer.status_code == 200, answer.content


@pytest.fixture(autouse=True)
def test_client_origin(settings):
    # Pages the test client fetches come from http://testserver (the browser tests use their own origin).
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [ORIGIN]


@pytest.fixture
def client():
    """Sessions are bound to the browser that signed in: every request of a client names the same one."""
    return Client(HTTP_USER_AGENT=CHROME_LINUX)


@pytest.fixture
def client_factory():
    return lambda user_agent=CHROME_LINUX: Client(HTTP_USER_AGENT=user_agent)


@pytest.fixture
def enrolled(client, user, clock):
    """alice with one passkey, signed out again."""
    sign_in(client, user.username)
    authenticator, _ = add_passkey(client)
    client.post("/accounts/logout/")
    return authenticator


class TestAdding:
    def test_a_new_passkey_is_named_after_the_device_recorded_and_mailed(self, signed_in, user, mailoutbox):
        key_before = signed_in.cookies[SESSION_COOKIE].value
        options = post_json(signed_in, "/accounts/passkeys/register/begin/").json()
        # A discoverable credential, so that it can sign in without a username.
        assert options["rp"] == {"name": "shopdemo", "id": "localhost"}
        assert options["authenticatorSelection"]["residentKey"] == "required"

        answer = SoftAuthenticator().create(options)
        response = post_json(signed_in, "/accounts/passkeys/register/complete/", answer)

        assert response.status_code == 200
        device = WebAuthnCredential.objects.get(user=user)
        assert response.json() == {"id": device.pk, "name": "Chrome on Linux"}
        assert device.name == "Chrome on Linux" and device.discoverable is True and device.confirmed
        event = AuditEvent.objects.filter(event="authn_mfa_change").get()
        assert event.details == {"change": "passkey_added", "name": "Chrome on Linux"}
        assert [mail.subject for mail in mailoutbox] == ["[shopdemo] A passkey was added to your account"]
        assert '"Chrome on Linux"' in mailoutbox[0].body
        # As for any MFA change: a new key for this session.
        assert signed_in.cookies[SESSION_COOKIE].value != key_before

    def test_adding_ends_the_other_sessions(self, signed_in, user, client_factory):
        other = client_factory()
        sign_in(other, user.username)
        add_passkey(signed_in)
        assert is_signed_in(signed_in)
        assert not is_signed_in(other)

    def test_an_account_holds_several_passkeys_listed_with_name_created_and_last_used(self, user, client_factory):
        on_linux, on_mac = client_factory(), client_factory(FIREFOX_MAC)
        sign_in(on_linux, user.username)
        add_passkey(on_linux)  # signs the other devices out (an MFA change)...
        passkey_sign_in(on_mac, SoftAuthenticator())  # ...and a new device has no passkey yet: refused
        sign_in(on_mac, user.username)  # the password leads to the second step now
        assert not is_signed_in(on_mac)
        sign_in(on_linux, user.username)
        add_passkey(on_linux, SoftAuthenticator())
        page = on_linux.get("/accounts/mfa/").content.decode()
        assert page.count('data-testid="passkey"') == 2
        assert page.count("Chrome on Linux") >= 2
        assert page.count("never used yet") == 2 and "added " in page
        # The name field beside "Add a passkey" proposes this browser's name.
        assert 'name="name" value="Chrome on Linux"' in page

    def test_adding_needs_a_recent_authentication(self, signed_in, clock, settings):
        clock.shift(settings.REAUTH_WINDOW + 1)
        response = post_json(signed_in, "/accounts/passkeys/register/begin/")
        assert response.status_code == 403
        assert response.json()["code"] == "reauth"
        assert "Confirm it's you again" in response.json()["detail"]
        assert AuditEvent.objects.filter(event="authn_mfa_change_fail", details__reason="reauth").exists()

    def test_a_guest_cannot_add_a_passkey(self, client):
        response = post_json(client, "/accounts/passkeys/register/begin/")
        assert response.status_code == 403
        assert not Session.objects.exists()

    def test_a_forged_new_credential_is_refused(self, signed_in, user):
        options = post_json(signed_in, "/accounts/passkeys/register/begin/").json()
        answer = SoftAuthenticator().create(options, origin="https://shopdemo.example.net")
        response = post_json(signed_in, "/accounts/passkeys/register/complete/", answer)
        assert response.status_code == 422
        assert response.json()["code"] == "foreign_origin"
        assert not WebAuthnCredential.objects.exists()


class TestNamingAndRemoving:
    def test_rename(self, signed_in, user):
        _, added = add_passkey(signed_in)
        response = signed_in.post(f"/accounts/mfa/passkeys/{added['id']}/rename/", {"name": "  Work laptop "})
        assert response.status_code == 302
        assert WebAuthnCredential.objects.get(pk=added["id"]).name == "Work laptop"
        assert "Passkey renamed to “Work laptop”." in signed_in.get("/accounts/mfa/").content.decode()

    def test_the_name_typed_when_adding_is_confirmed_as_added(self, signed_in):
        add_passkey(signed_in)  # the first, whose codes were shown
        _, added = add_passkey(signed_in)
        signed_in.post(f"/accounts/mfa/passkeys/{added['id']}/rename/", {"name": "Phone", "added": "on"})
        assert "Passkey “Phone” added" in signed_in.get("/accounts/mfa/").content.decode()

    def test_the_first_passkey_turns_two_step_sign_in_on_and_shows_its_recovery_codes_once(
        self, signed_in, user, client_factory
    ):
        assert "Off: your password alone signs you in." in signed_in.get("/accounts/").content.decode()
        authenticator, added = add_passkey(signed_in)
        assert StaticToken.objects.filter(device__user=user).count() == 10  # made with the passkey
        response = signed_in.post(f"/accounts/mfa/passkeys/{added['id']}/rename/", {"name": "Phone", "added": "on"})
        page = response.content.decode()
        assert response.status_code == 200 and "<h1>Two-step sign-in is on</h1>" in page
        assert "signing in with your password also asks for your passkey" in page
        assert "Passkey “Phone” added" in page
        shown = re.findall(r"<li><code>([a-z0-9]+)</code></li>", page)
        assert sorted(shown) == sorted(StaticToken.objects.filter(device__user=user).values_list("token", flat=True))
        again = signed_in.post(f"/accounts/mfa/passkeys/{added['id']}/rename/", {"name": "Phone", "added": "on"})
        assert again.status_code == 302  # shown once
        account = signed_in.get("/accounts/").content.decode()
        needs = "On: after your password, signing in needs your passkey, or one of your 10 unused recovery codes."
        assert needs in account
        # A password sign-in elsewhere now needs the passkey, or a recovery code typed with letters.
        other = client_factory()
        step = other.get(sign_in(other, user.username)["Location"]).content.decode()
        assert "Use a passkey" in step and 'inputmode="text"' in step and 'autocomplete="one-time-code"' in step
        other.post("/accounts/login/otp/", {"otp_token": shown[0].upper()})
        assert is_signed_in(other)

    def test_an_empty_name_is_refused_with_a_message(self, signed_in):
        _, added = add_passkey(signed_in)
        response = signed_in.post(f"/accounts/mfa/passkeys/{added['id']}/rename/", {"name": "   "})
        assert response.status_code == 400
        assert "This field is required." in response.content.decode()
        assert WebAuthnCredential.objects.get(pk=added["id"]).name

    def test_another_users_passkey_is_not_found(self, signed_in, client_factory):
        bob = client_factory()
        sign_in(bob, UserFactory(username="bob").username)
        _, bobs = add_passkey(bob)
        assert signed_in.post(f"/accounts/mfa/passkeys/{bobs['id']}/rename/", {"name": "mine"}).status_code == 404
        confirm_it_is_me(signed_in)
        assert signed_in.post(f"/accounts/mfa/passkeys/{bobs['id']}/remove/").status_code == 404
        assert WebAuthnCredential.objects.filter(pk=bobs["id"]).exists()

    def test_remove_asks_first_then_removes_records_mails_and_the_passkey_no_longer_signs_in(
        self, client, user, clock, mailoutbox
    ):
        sign_in(client, user.username)
        authenticator, added = add_passkey(client)
        passkey_reauth(client, authenticator)
        confirm = client.get(f"/accounts/mfa/passkeys/{added['id']}/remove/")
        assert "Remove the passkey “Chrome on Linux”?" in confirm.content.decode()
        assert WebAuthnCredential.objects.filter(pk=added["id"]).exists()

        response = client.post(f"/accounts/mfa/passkeys/{added['id']}/remove/")
        assert response.status_code == 302
        assert not WebAuthnCredential.objects.exists()
        assert AuditEvent.objects.filter(event="authn_mfa_change", details__change="passkey_removed").exists()
        # It was alice's only second factor: the mail says what went with it.
        notice = mailoutbox[-1]
        assert notice.subject == "[shopdemo] A passkey was removed from your account: two-factor authentication is off"
        assert "two-factor authentication is now off, the recovery codes were deleted" in notice.body

        client.post("/accounts/logout/")
        refused = passkey_sign_in(client, authenticator)
        assert refused.status_code == 404
        assert refused.json()["code"] == "unknown_credential"
        assert not is_signed_in(client)

    def test_removing_needs_a_recent_authentication(self, signed_in, clock, settings):
        _, added = add_passkey(signed_in)
        clock.shift(settings.REAUTH_WINDOW + 1)
        response = signed_in.post(f"/accounts/mfa/passkeys/{added['id']}/remove/")
        assert response.status_code == 200 and "Use your passkey to remove the passkey" in response.content.decode()
        assert WebAuthnCredential.objects.filter(pk=added["id"]).exists()


class TestSignIn:
    def test_a_passkey_sign_in_is_a_sign_in_like_any_other(self, client, user, enrolled, product):
        client.post("/cart/add/", {"product": product.pk, "quantity": 2})
        guest_key = client.cookies[SESSION_COOKIE].value

        response = passkey_sign_in(client, enrolled, next_url="/cart/")

        assert response.status_code == 200
        assert response.json()["redirect_url"] == "/cart/"
        assert "Welcome back, alice." in client.get("/cart/").content.decode()
        assert is_signed_in(client)
        assert client.cookies[SESSION_COOKIE].value != guest_key  # ASVS V7.2.4
        assert not Session.objects.filter(session_key=hash_key(guest_key)).exists()
        assert CartItem.objects.get(cart__user=user, product=product).quantity == 2
        success = AuditEvent.objects.filter(event__startswith="authn_login_success").first()
        assert success.username == "alice" and success.details["method"] == "passkey"
        assert AccessLog.objects.filter(username="alice").count() == 2  # the password sign-in, then this one
        session = client.session
        assert session[session_policy.AUTH_METHOD] == "passkey"
        assert session.get_expire_at_browser_close()  # no "remember me"

    def test_remember_me_is_honoured(self, client, enrolled):
        client.cookies["passkey_remember"] = "1"
        response = passkey_sign_in(client, enrolled)
        assert response.status_code == 200
        assert client.session[session_policy.REMEMBER] is True
        assert not client.session.get_expire_at_browser_close()
        assert response.cookies["passkey_remember"]["max-age"] == 0  # used once, then gone

    def test_a_sign_in_from_a_new_device_is_flagged(self, client_factory, enrolled, mailoutbox):
        passkey_sign_in(client_factory(FIREFOX_MAC), enrolled)
        assert AuditEvent.objects.filter(event="authn_new_device", details__device="Firefox on Mac OS X").exists()
        assert mailoutbox[-1].subject.startswith("[shopdemo] New sign-in to your account")

    def test_the_ceremony_asks_for_user_verification_and_any_discoverable_passkey(self, client):
        options = post_json(client, "/accounts/passkeys/sign-in/begin/").json()
        assert options["userVerification"] == "required"
        assert options["rpId"] == "localhost"
        assert not options.get("allowCredentials")  # no username typed, so no list of credentials leaks

    def test_a_passkey_without_user_verification_does_not_sign_in(self, client, enrolled):
        enrolled.user_verified = False
        response = passkey_sign_in(client, enrolled)
        assert response.status_code == 422
        assert response.json()["code"] == "user_not_verified"
        assert not is_signed_in(client)

    def test_a_locked_account_cannot_sign_in_with_a_passkey_either(self, client, enrolled, settings):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            sign_in(client, "alice", "wrong password")
        response = passkey_sign_in(client, enrolled)
        assert response.status_code == 429
        assert response.json()["code"] == "locked"
        assert not is_signed_in(client)


class TestBadAnswers:
    """Forged, replayed or foreign answers: refused with a clear message and recorded, never a 500."""

    @pytest.mark.parametrize(
        ("tamper", "status", "reason"),
        [
            ({"forge": True}, 422, "invalid"),
            ({"origin": "https://shopdemo.example.net"}, 422, "foreign_origin"),
            ({"sign_count": 0}, 422, "sign_count"),
        ],
    )
    def test_refused_and_recorded_against_the_account(self, client, enrolled, tamper, status, reason):
        passkey_sign_in(client, enrolled)  # the counter is now 1 on both sides
        client.post("/accounts/logout/")
        response = passkey_sign_in(client, enrolled, **tamper)
        assert response.status_code == status
        assert response.json() == {"detail": passkeys.REFUSALS[reason], "code": reason}
        assert not is_signed_in(client)
        failure = AuditEvent.objects.filter(event="authn_login_fail").get()
        assert failure.username == "alice"
        assert failure.details == {"method": "passkey", "purpose": "sign_in", "reason": reason}
        # Counted like a wrong password (axes).
        assert AccessAttempt.objects.get(username="alice").failures_since_start == 1

    def test_an_unknown_passkey_is_refused_and_recorded(self, client, db):
        response = passkey_sign_in(client, SoftAuthenticator(user_handle=b"x" * 64))
        assert response.status_code == 404
        assert response.json()["code"] == "unknown_credential"
        failure = AuditEvent.objects.filter(event="authn_login_fail").get()
        assert failure.username == "" and failure.details["reason"] == "unknown_credential"

    def test_an_answer_without_a_ceremony_is_refused(self, client, enrolled):
        options = post_json(client, "/accounts/passkeys/sign-in/begin/").json()
        answer = enrolled.get(options)
        assert post_json(client, "/accounts/passkeys/sign-in/complete/", answer).status_code == 200
        client.post("/accounts/logout/")
        # The same answer again: its ceremony is over (and the next one has another challenge).
        replayed = post_json(client, "/accounts/passkeys/sign-in/complete/", answer)
        assert replayed.status_code == 400
        assert replayed.json()["code"] == "expired"
        post_json(client, "/accounts/passkeys/sign-in/begin/")
        replayed = post_json(client, "/accounts/passkeys/sign-in/complete/", answer)
        assert replayed.json()["code"] == "challenge_mismatch"
        assert not is_signed_in(client)

    @pytest.mark.parametrize(
        "body",
        [
            "not json",
            "[]",
            '{"id": 1}',
            json.dumps({"id": "a", "rawId": "a", "type": "public-key", "response": {}}),
            json.dumps(
                {
                    "id": "abcde",
                    "rawId": "abcde",
                    "type": "public-key",
                    "response": {"clientDataJSON": "abcde", "authenticatorData": "%%%", "signature": "x"},
                }
            ),
        ],
    )
    def test_malformed_answers_get_a_4xx(self, client, enrolled, body):
        post_json(client, "/accounts/passkeys/sign-in/begin/")
        response = client.post("/accounts/passkeys/sign-in/complete/", body, content_type=JSON)
        assert 400 <= response.status_code < 500
        assert response.json()["detail"]
        assert not is_signed_in(client)


def test_a_captured_answer_cannot_be_replayed(user, rf: RequestFactory):
    """Service level: the ceremony's state is spent by its first answer, and a new one has a new challenge."""
    authenticator = SoftAuthenticator()
    signed_in = rf.post("/", HTTP_USER_AGENT=CHROME_LINUX)
    signed_in.session, signed_in.user = engine_store()(), user
    signed_in.session.update({session_policy.AUTH_AT: timezone.now().timestamp()})  # just signed in
    OTPMiddleware(lambda request: None)(signed_in)  # request.user.is_verified(), as on a real request
    registration = passkeys.passkey_register_begin(request=signed_in)
    passkeys.passkey_add(request=signed_in, data=authenticator.create(registration))

    request = rf.post("/")
    request.session, request.user = engine_store()(), AnonymousUser()
    answer = authenticator.get(passkeys.passkey_authenticate_begin(request=request, purpose=passkeys.SIGN_IN))
    assert passkeys.passkey_verify(request=request, purpose=passkeys.SIGN_IN, data=answer).user == user

    with pytest.raises(passkeys.Refused) as replay:
        passkeys.passkey_verify(request=request, purpose=passkeys.SIGN_IN, data=answer)
    assert replay.value.code == "expired"
    passkeys.passkey_authenticate_begin(request=request, purpose=passkeys.SIGN_IN)
    with pytest.raises(passkeys.Refused) as replay:
        passkeys.passkey_verify(request=request, purpose=passkeys.SIGN_IN, data=answer)
    assert replay.value.code == "challenge_mismatch"
    assert WebAuthnCredential.objects.get().sign_count == 1  # only the first answer counted


class TestSecondStep:
    def test_after_the_password_the_passkey_completes_the_sign_in(self, client, user, enrolled):
        response = sign_in(client, user.username, next_url="/orders/")
        assert response["Location"].startswith("/accounts/login/otp/")
        page = client.get(response["Location"]).content.decode()
        assert "Use a passkey" in page and "Enter one of your recovery codes." in page  # no app: codes back it up
        options = post_json(client, "/accounts/passkeys/second-step/begin/").json()
        # Only this account's passkeys are offered.
        assert [c["id"] for c in options["allowCredentials"]] == [b64url(enrolled.credential_id)]
        complete = post_json(client, "/accounts/passkeys/second-step/complete/?next=/orders/", enrolled.get(options))
        assert complete.status_code == 200 and complete.json()["redirect_url"] == "/orders/"
        assert is_signed_in(client)
        assert client.session[session_policy.AUTH_METHOD] == "password+passkey"

    def test_another_accounts_passkey_is_refused(self, client, user, enrolled, client_factory):
        bob_client = client_factory()
        sign_in(bob_client, UserFactory(username="bob").username)
        bobs, _ = add_passkey(bob_client)
        sign_in(client, user.username)
        options = post_json(client, "/accounts/passkeys/second-step/begin/").json()
        response = post_json(client, "/accounts/passkeys/second-step/complete/", bobs.get(options))
        assert response.status_code == 403 and response.json()["code"] == "wrong_account"
        assert not is_signed_in(client)
        assert AuditEvent.objects.filter(event="authn_login_fail", username="alice").exists()

    def test_with_an_app_too_the_passkey_comes_first_and_a_code_is_the_alternative(self, client, user, enrolled):
        sign_in(client, user.username)
        options = post_json(client, "/accounts/passkeys/second-step/begin/").json()
        post_json(client, "/accounts/passkeys/second-step/complete/", enrolled.get(options))
        _secret, codes = enrol(client)
        client.post("/accounts/logout/")

        page = client.get(sign_in(client, user.username)["Location"]).content.decode()
        assert page.index("Use a passkey") < page.index('name="otp_token"')
        client.post("/accounts/login/otp/", {"otp_token": codes[0]})
        assert is_signed_in(client)
        assert client.session[session_policy.AUTH_METHOD] == "password+recovery_code"

    def test_recovery_codes_back_up_passkeys_and_go_with_the_last_one(self, client, user, enrolled, password):
        passkey_sign_in(client, enrolled)
        page = client.get("/accounts/mfa/").content.decode()
        assert "You have 10 unused recovery codes" in page  # made with the first passkey
        passkey_reauth(client, enrolled)
        codes = re.findall(
            r"<li><code>([a-z0-9]+)</code></li>", client.post("/accounts/mfa/recovery-codes/").content.decode()
        )
        assert len(codes) == 10
        client.post("/accounts/logout/")

        otp_step = client.get(sign_in(client, user.username)["Location"]).content.decode()
        assert "Use a passkey" in otp_step and "Enter one of your recovery codes." in otp_step
        client.post("/accounts/login/otp/", {"otp_token": codes[0]})
        assert client.session[session_policy.AUTH_METHOD] == "password+recovery_code"

        # Without a passkey or an app, the codes back up nothing: the password alone signs in again.
        passkey_reauth(client, enrolled)
        client.post(f"/accounts/mfa/passkeys/{WebAuthnCredential.objects.get().pk}/remove/")
        client.post("/accounts/logout/")
        assert sign_in(client, user.username)["Location"] == "/"
        assert is_signed_in(client)

    def test_a_lockout_from_wrong_codes_holds_for_the_passkey_too(self, client, user, enrolled, settings):
        sign_in(client, user.username)
        options = post_json(client, "/accounts/passkeys/second-step/begin/").json()
        for _ in range(settings.AXES_FAILURE_LIMIT):
            client.post("/accounts/login/otp/", {"otp_token": "000000"})
        response = post_json(client, "/accounts/passkeys/second-step/complete/", enrolled.get(options))
        assert response.status_code == 429 and response.json()["code"] == "locked"
        assert not is_signed_in(client)

    def test_no_second_step_without_a_correct_password(self, client, enrolled):
        response = post_json(client, "/accounts/passkeys/second-step/begin/")
        assert response.status_code == 400 and response.json()["code"] == "expired"

    def test_a_second_step_answer_is_not_good_for_a_re_authentication(self, client, user, enrolled):
        sign_in(client, user.username)
        options = post_json(client, "/accounts/passkeys/second-step/begin/").json()
        enrolled.user_verified = False  # the second step does not ask for it; re-auth does
        post_json(client, "/accounts/passkeys/second-step/complete/", enrolled.get(options))
        assert is_signed_in(client)
        # Started as a second step (no user verification), completed as a re-auth: refused.
        post_json(client, "/accounts/passkeys/second-step/begin/")
        response = post_json(client, "/accounts/passkeys/reauth/complete/", enrolled.get(options))
        assert response.json()["code"] == "expired"


class TestReauth:
    def test_a_passkey_with_user_verification_re_authenticates_and_the_held_order_resumes(
        self, client, user, enrolled, product, clock, settings
    ):
        passkey_sign_in(client, enrolled)
        client.post("/cart/add/", {"product": product.pk})
        clock.shift(settings.REAUTH_WINDOW + 1)
        held = client.post("/checkout/", {"address": "1 Main St"}).content.decode()
        amount = Decimal(product.price) + settings.SHIPPING_FLAT_RATE  # delivered: the line and shipping
        assert "Confirm with a passkey" in held and f"Use your passkey to place this €{amount} order" in held
        assert 'name="next" value="/checkout/"' in held

        options = post_json(client, "/accounts/passkeys/reauth/begin/").json()
        assert options["userVerification"] == "required"
        key_before = client.cookies[SESSION_COOKIE].value
        response = post_json(client, "/accounts/passkeys/reauth/complete/?next=/checkout/", enrolled.get(options))
        assert response.status_code == 200
        # No second screen: the page that holds the order's fields sends them itself.
        assert response.json()["redirect_url"] == ""
        assert '<form method="post" action="/checkout/" data-reauth-held hidden>' in held
        assert client.cookies[SESSION_COOKIE].value != key_before
        event = AuditEvent.objects.filter(event="authn_reauthenticated").get()
        assert event.details == {"mfa": True, "method": "passkey"}
        assert not user.orders.exists()
        placed = client.post("/checkout/", {"address": "1 Main St"})
        assert placed["Location"] == f"/orders/{user.orders.get().number}/"

    def test_a_passkey_from_the_prompt_of_a_guarded_page_goes_on_to_it(self, client, user, enrolled, clock, settings):
        passkey_sign_in(client, enrolled)
        clock.shift(settings.REAUTH_WINDOW + 1)
        assert client.get("/accounts/password/")["Location"] == "/accounts/reauth/?next=%2Faccounts%2Fpassword%2F"
        options = post_json(client, "/accounts/passkeys/reauth/begin/").json()
        complete = "/accounts/passkeys/reauth/complete/?next=/accounts/password/"
        response = post_json(client, complete, enrolled.get(options))
        assert response.json()["redirect_url"] == "/accounts/reauth/resume/?next=%2Faccounts%2Fpassword%2F"
        assert client.get(response.json()["redirect_url"])["Location"] == "/accounts/password/"

    def test_user_verification_is_required(self, client, user, enrolled, clock, settings):
        passkey_sign_in(client, enrolled)
        clock.shift(settings.REAUTH_WINDOW + 1)
        enrolled.user_verified = False
        options = post_json(client, "/accounts/passkeys/reauth/begin/").json()
        response = post_json(client, "/accounts/passkeys/reauth/complete/", enrolled.get(options))
        assert response.status_code == 422 and response.json()["code"] == "user_not_verified"
        assert client.get("/accounts/reauth/resume/?next=/checkout/")["Location"].startswith("/accounts/reauth/")

    def test_a_passkey_only_account_confirms_with_the_passkey_not_the_password_alone(
        self, client, user, enrolled, clock, settings, password
    ):
        passkey_sign_in(client, enrolled)
        clock.shift(settings.REAUTH_WINDOW + 1)
        page = client.get("/accounts/reauth/?next=/accounts/").content.decode()
        assert "Confirm with a passkey" in page
        assert page.index("Confirm with a passkey") < page.index('name="password"')  # codes are the way back
        response = client.post("/accounts/reauth/", {"password": password, "next": "/accounts/"})
        assert response.status_code == 200 and "That code is not valid" in response.content.decode()
        assert not AuditEvent.objects.filter(event="authn_reauthenticated").exists()


class TestHowEachSessionWasSignedIn:
    def test_the_devices_page_and_the_inspector_say_it(self, client, user, enrolled, client_factory):
        passkey_sign_in(client, enrolled)
        by_password = client_factory()
        user.webauthncredential_set.all().delete()
        StaticDevice.objects.filter(user=user).delete()  # as removing the last passkey does
        sign_in(by_password, user.username)
        devices = by_password.get("/accounts/sessions/").content.decode()
        assert "Signed in with passkey" in devices and "Signed in with password" in devices
        assert "Signed in with passkey" in client.get("/session/").content.decode()
