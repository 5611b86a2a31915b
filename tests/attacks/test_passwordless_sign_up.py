"""Attacks on the sign-up whose first factor is a passkey: orphan accounts, replays, races, secrets at rest.

The registration waits in the visitor's session between the form and the
passkey; the attacker cancels or forges the ceremony, replays its answer,
takes the username meanwhile, answers another visitor's ceremony, or reads
what waits from the session row and the admin as staff with view_session.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.contrib.auth import get_user_model
from django.test import Client
from django_otp_webauthn.models import WebAuthnCredential, WebAuthnUserHandle

from accounts.flows.passkeys import REFUSALS
from accounts.models import AuditEvent, Session
from tests.accounts.flows.test_passkeys import CHROME_LINUX, post_json
from tests.accounts.flows.test_passwordless_sign_up import (
    BEGIN,
    COMPLETE,
    GUEST,
    PASSKEY_STEP,
    ask_for_passkey_account,
    begin,
)
from tests.attacks.test_admin_staff_reads_secrets import read_without_secret, viewer_client
from tests.authenticator import ORIGIN, SoftAuthenticator, unb64url
from tests.factories import UserFactory
from tests.servers import free_port

pytestmark = pytest.mark.django_db

PASSWORD = "tangerine-lighthouse-47"


@pytest.fixture(autouse=True)
def test_client_origin(settings):
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [ORIGIN]


@pytest.fixture
def client():
    return Client(HTTP_USER_AGENT=CHROME_LINUX)


def nothing_was_created() -> bool:
    return not (
        get_user_model().objects.filter(username__iexact="gwen").exists()
        or WebAuthnUserHandle.objects.exists()
        or WebAuthnCredential.objects.exists()
    )


def test_a_cancelled_ceremony_leaves_no_account_and_the_password_path(client):
    ask_for_passkey_account(client)
    begin(client)  # ... and the shopper cancels the browser's passkey dialog: no answer comes.
    assert nothing_was_created()
    # The passkey step is still there to try again, beside the password path with the form filled in.
    step = client.get(PASSKEY_STEP).content.decode()
    assert "if you cancel, nothing is created" in step and "/accounts/register/?email=gwen%40example.com" in step
    data = {"username": "gwen", "email": GUEST, "password1": PASSWORD, "password2": PASSWORD}
    assert client.post("/accounts/register/", data).status_code == 302
    assert get_user_model().objects.get(username="gwen").check_password(PASSWORD)


@pytest.mark.parametrize(
    ("authenticator", "origin", "reason"),
    [
        (SoftAuthenticator(), "https://shop.example.net", "foreign_origin"),
        (SoftAuthenticator(user_verified=False), None, "user_not_verified"),  # the only factor must verify its user
    ],
)
def test_a_refused_answer_leaves_no_account(client, authenticator, origin, reason):
    ask_for_passkey_account(client)
    refused = post_json(client, COMPLETE, authenticator.create(begin(client), origin=origin))
    assert refused.status_code == 422 and refused.json() == {"detail": REFUSALS[reason], "code": reason}
    assert nothing_was_created()
    assert AuditEvent.objects.get(event="authn_register_fail").details == {"method": "passkey", "reason": reason}
    # A new ceremony for the same registration goes through.
    retried = post_json(client, COMPLETE, SoftAuthenticator().create(begin(client)))
    assert retried.status_code == 200 and get_user_model().objects.filter(username="gwen").count() == 1


def test_a_second_complete_with_the_same_pending_registration_does_nothing(client):
    ask_for_passkey_account(client)
    options = begin(client)
    answer = SoftAuthenticator().create(options)
    assert post_json(client, COMPLETE, answer).status_code == 200
    replayed = post_json(client, COMPLETE, answer)
    assert replayed.status_code == 400 and replayed.json()["code"] == "expired"
    # Nor does another authenticator's answer to the same, spent, options make a second account or passkey.
    another = post_json(client, COMPLETE, SoftAuthenticator().create(options))
    assert another.status_code == 400 and another.json()["code"] == "expired"
    assert get_user_model().objects.filter(username="gwen").count() == 1 and WebAuthnCredential.objects.count() == 1


def test_the_challenge_is_spent_before_the_answer_is_checked(client):
    """A refused answer spends its challenge too: the same answer, repaired, cannot be sent again."""
    authenticator = SoftAuthenticator()
    ask_for_passkey_account(client)
    options = begin(client)
    post_json(client, COMPLETE, authenticator.create(options, origin="https://shop.example.net"))
    again = post_json(client, COMPLETE, authenticator.create(options))
    assert again.status_code == 400 and again.json()["code"] == "expired" and nothing_was_created()


@pytest.mark.parametrize("taken_as", ["gwen", "GWEN"])
def test_a_username_taken_between_begin_and_complete_is_refused(client, taken_as):
    ask_for_passkey_account(client)
    options = begin(client)
    owner = UserFactory(username=taken_as)  # someone registers the name meanwhile
    refused = post_json(client, COMPLETE, SoftAuthenticator().create(options))
    assert refused.status_code == 409 and refused.json()["code"] == "username_taken"
    assert "no account was created" in refused.json()["detail"]
    assert list(get_user_model().objects.filter(username__iexact="gwen")) == [owner]
    assert not WebAuthnCredential.objects.exists() and not WebAuthnUserHandle.objects.exists()
    # The pending registration went with it: its form must be filled in again.
    assert client.get(PASSKEY_STEP)["Location"] == "/accounts/register/"


def test_an_answer_made_for_another_visitors_ceremony_is_refused(client):
    victim = Client(HTTP_USER_AGENT=CHROME_LINUX)
    ask_for_passkey_account(victim, username="vera", email="vera@example.com")
    victims_answer = SoftAuthenticator().create(begin(victim))
    ask_for_passkey_account(client)  # the attacker's own pending registration, its own challenge
    begin(client)
    refused = post_json(client, COMPLETE, victims_answer)
    assert refused.status_code == 422 and refused.json()["code"] == "challenge_mismatch"
    assert not get_user_model().objects.exists() and not WebAuthnCredential.objects.exists()


def test_no_pending_registration_makes_no_account(client):
    refused = post_json(client, COMPLETE, SoftAuthenticator().create({"user": {"id": "AA"}, "challenge": "AA"}))
    assert refused.status_code == 400 and refused.json()["code"] == "expired"
    assert post_json(client, "/accounts/passkeys/sign-up/begin/").json()["code"] == "expired"
    assert not get_user_model().objects.exists()


def test_the_pending_registration_is_not_readable_from_the_session_row_or_the_admin(client):
    ask_for_passkey_account(client, username="gwen-secret-name")
    options = begin(client)
    (row,) = Session.objects.all()
    stored = row.session_data
    plain = str(read_without_secret(stored))
    handle_hex = unb64url(options["user"]["id"]).hex()
    for secret in ("gwen-secret-name", GUEST, options["challenge"], handle_hex):
        assert secret not in stored and secret not in plain
    staff = viewer_client()
    page = staff.get(f"/admin/accounts/session/{row.public_id}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "gwen-secret-name" not in text and options["challenge"] not in text and "[hidden]" in text
    # The visitor's own session still reads it back whole and finishes the registration.
    done = post_json(client, COMPLETE, SoftAuthenticator().create(options))
    assert done.status_code == 200 and get_user_model().objects.filter(username="gwen-secret-name").exists()


RACERS = 4  # browsers completing the same username at once
TIMEOUT = 30  # seconds per request: a lock that never clears fails the test, not the run


def _held_ceremony(url: str) -> tuple[requests.Session, dict]:
    """A browser that submitted the passkey form for "gwen" and began the ceremony; return it and the options."""
    browser = requests.Session()
    browser.headers["User-Agent"] = CHROME_LINUX
    browser.get(f"{url}/accounts/register/", timeout=TIMEOUT).raise_for_status()
    csrf = browser.cookies["csrftoken"]
    data = {"username": "gwen", "email": GUEST, "passkey": "on", "csrfmiddlewaretoken": csrf}
    held = browser.post(f"{url}/accounts/register/", data=data, allow_redirects=False, timeout=TIMEOUT)
    assert held.status_code == 302, held.text
    browser.headers["X-CSRFToken"] = csrf
    options = browser.post(f"{url}{BEGIN}", json={}, timeout=TIMEOUT)
    assert options.status_code == 200, options.text
    return browser, options.json()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_browsers_completing_the_same_username_at_once_make_one_account_and_no_error(serve):
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    url = serve(port=port, WEBAUTHN_ORIGINS=origin)
    racers = [_held_ceremony(url) for _ in range(RACERS)]
    start = threading.Barrier(RACERS)

    def complete(racer):
        browser, options = racer
        answer = SoftAuthenticator().create(options, origin=origin)
        start.wait()
        return browser.post(f"{url}{COMPLETE}", json=answer, timeout=TIMEOUT)

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        answers = list(pool.map(complete, racers))
    codes = sorted((answer.status_code, answer.json().get("code", "")) for answer in answers)
    assert codes[0][0] == 200 and codes[1:] == [(409, "username_taken")] * (RACERS - 1), codes
    assert get_user_model().objects.filter(username__iexact="gwen").count() == 1
    assert WebAuthnCredential.objects.count() == WebAuthnUserHandle.objects.count() == 1
