"""Passkeys on the shop's own origin, and nobody else's, as a user and an attacker would try them.

The settings are the shipped ones (no test override of the allowed origins): a demo on
any localhost port must work, a page on another host must not, and a refusal says why.
"""

import json

import pytest
from django.test import Client
from django_otp_webauthn.models import WebAuthnCredential

from accounts.flows import passkeys
from tests.authenticator import SoftAuthenticator
from tests.conftest import sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REGISTER_BEGIN = "/accounts/passkeys/register/begin/"
REGISTER_COMPLETE = "/accounts/passkeys/register/complete/"
PASSKEY_ENDPOINTS = [
    f"/accounts/passkeys/{step}/{part}/"
    for step in ("register", "sign-in", "second-step", "reauth")
    for part in ("begin", "complete")
]


def post_json(client, path, data=None, raw: bytes | None = None):
    body = raw if raw is not None else (json.dumps(data) if data is not None else "")
    return client.post(path, body, content_type="application/json")


def register(client, authenticator, *, origin: str):
    options = post_json(client, REGISTER_BEGIN)
    assert options.status_code == 200, options.content
    return post_json(client, REGISTER_COMPLETE, authenticator.create(options.json(), origin=origin))


def browser() -> Client:
    return Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36")


@pytest.fixture
def signed_in(user, clock):
    client = browser()
    sign_in(client, user.username)
    return client


@pytest.mark.parametrize("origin", ["http://localhost:8103", "http://localhost:8000", "http://localhost:54321"])
def test_a_passkey_made_on_any_localhost_port_is_kept_and_signs_in(signed_in, user, origin):
    authenticator = SoftAuthenticator()
    assert register(signed_in, authenticator, origin=origin).status_code == 200
    assert WebAuthnCredential.objects.filter(user=user).count() == 1
    signed_in.post("/accounts/logout/")
    options = post_json(signed_in, "/accounts/passkeys/sign-in/begin/").json()
    answer = post_json(signed_in, "/accounts/passkeys/sign-in/complete/", authenticator.get(options, origin=origin))
    assert answer.status_code == 200, answer.content


@pytest.mark.parametrize(
    "origin",
    [
        "https://shop.example.net",
        "http://localhost.example.net:8000",
        "http://evil.localhost:8000",
        "https://localhost:8000",  # not the rule: plain http on localhost only, and https://localhost itself
        "http://localhost:8000/",
        "http://127.0.0.1:8000",
    ],
)
def test_a_passkey_answer_from_another_site_is_refused_with_the_reason_in_words(signed_in, user, origin):
    response = register(signed_in, SoftAuthenticator(), origin=origin)
    assert response.status_code == 422
    assert response.json() == {"detail": passkeys.REFUSALS["foreign_origin"], "code": "foreign_origin"}
    assert "made for another site" in response.json()["detail"]
    assert not WebAuthnCredential.objects.exists()


def test_site_url_and_webauthn_origins_are_accepted_when_configured(signed_in, settings):
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = ["https://localhost", "https://shop.example.com"]
    assert register(signed_in, SoftAuthenticator(), origin="https://shop.example.com").status_code == 200


def test_registering_a_credential_id_that_exists_already_is_a_409_not_a_500(signed_in, user):
    first = SoftAuthenticator()
    assert register(signed_in, first, origin="http://localhost:8000").status_code == 200
    # An attacker replays the victim's credential id with a key of their own, from another account.
    mallory = browser()
    sign_in(mallory, UserFactory(username="mallory").username)
    copy = SoftAuthenticator(credential_id=first.credential_id)
    response = register(mallory, copy, origin="http://localhost:8000")
    assert response.status_code == 409
    assert response.json()["code"] == "already_registered"
    assert WebAuthnCredential.objects.get().user == user


@pytest.mark.parametrize("path", PASSKEY_ENDPOINTS)
@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe{not utf-8",
        b"[" * 20_000 + b"]" * 20_000,
        b'{"a": ' * 20_000 + b"1" + b"}" * 20_000,
        b"[]",
        b'"a string"',
        b"12",
        b"null",
        json.dumps({"pad": "x" * 200_000}).encode(),
        b"{broken",
    ],
    ids=["bad-utf8", "deep-list", "deep-object", "list", "string", "number", "null", "huge", "broken"],
)
def test_every_passkey_endpoint_answers_400_to_a_body_that_is_not_a_small_json_object(signed_in, path, body):
    response = post_json(signed_in, path, raw=body)
    assert response.status_code == 400, (response.status_code, response.content[:200])
    assert response.json()["code"] == "malformed"


@pytest.mark.parametrize("path", PASSKEY_ENDPOINTS)
def test_a_form_body_at_a_passkey_endpoint_is_refused(signed_in, path):
    response = signed_in.post(path, {"id": "x"})
    assert response.status_code == 400
