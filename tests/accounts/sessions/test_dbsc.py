"""Device Bound Session Credentials, spoken by a protocol-level browser with an ES256 key from `cryptography`."""

import base64
import json

import http_sfv
import jwt
import pyotp
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_otp.plugins.otp_totp.models import TOTPDevice
from jwt.algorithms import get_default_algorithms

from accounts.admin import admin_session_url
from accounts.models import AuditEvent, BindingChallenge, Session, hash_key
from accounts.sessions import dbsc
from tests.accounts.flows.test_passkeys import add_passkey, passkey_sign_in
from tests.authenticator import ORIGIN
from tests.conftest import sign_in
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

REGISTER_URL = "/accounts/session/dbsc/register/"
REFRESH_URL = "/accounts/session/dbsc/refresh/"
COOKIE = "dbsc"
AGE = 600  # DBSC_BOUND_COOKIE_AGE's default


def es256_key():
    return ec.generate_private_key(ec.SECP256R1())


def proof(key, challenge, *, alg="ES256", jwk=True, **claims):
    """A DBSC proof JWT: the challenge in `jti`, the public key in the header at registration."""
    headers = {"typ": "dbsc+jwt"}
    if jwk:
        headers["jwk"] = get_default_algorithms()[alg].to_jwk(key.public_key(), as_dict=True)
    return jwt.encode({"jti": challenge, **claims}, key, algorithm=alg, headers=headers)


def sf(value: str) -> str:
    """A structured-field string, as browsers send the DBSC headers."""
    return str(http_sfv.Item(value))


def registration_offer(response) -> dict:
    """Parse Secure-Session-Registration the way a browser does: algorithms, path, challenge."""
    offers = http_sfv.List()
    offers.parse(response.headers[dbsc.REGISTRATION_HEADER].encode())
    algorithms = offers[0]  # an inner list of tokens, with the parameters
    return {"algorithms": [str(item.value) for item in algorithms], **dict(algorithms.params)}


class DBSCBrowser:
    """What a DBSC browser does, over the Django test client: register, send the bound cookie, refresh."""

    def __init__(self, client, key=None, alg="ES256"):
        self.client = client
        self.key = key or es256_key()
        self.alg = alg
        self.session_id = None
        self.last_proof = None

    def sign_in(self, user):
        return sign_in(self.client, user.username)

    def register(self, offered):
        offer = registration_offer(offered)
        self.last_proof = proof(self.key, offer["challenge"], alg=self.alg)
        response = self.client.post(offer["path"], headers={dbsc.RESPONSE_HEADER: sf(self.last_proof)})
        if response.status_code == 200:
            self.session_id = response.json()["session_identifier"]
        return response

    def refresh(self):
        """Ask for a new bound cookie; sign the challenge the server answers with; return the final response."""
        headers = {dbsc.SESSION_ID_HEADER: sf(self.session_id)}
        asked = self.client.post(REFRESH_URL, headers=headers)
        assert asked.status_code == 403, asked.content
        challenge = challenge_of(asked)
        self.last_proof = proof(self.key, challenge["value"], alg=self.alg, jwk=False)
        return self.client.post(REFRESH_URL, headers={**headers, dbsc.RESPONSE_HEADER: sf(self.last_proof)})


def challenge_of(response) -> dict:
    item = http_sfv.Item()
    item.parse(response.headers[dbsc.CHALLENGE_HEADER].encode())
    return {"value": item.value, "id": item.params["id"]}


@pytest.fixture
def bound(client, user, clock):
    """A DBSC browser signed in as alice, its session registered and bound."""
    dbsc_browser = DBSCBrowser(client)
    response = dbsc_browser.register(dbsc_browser.sign_in(user))
    assert response.status_code == 200, response.content
    return dbsc_browser


def thief_with(cookies) -> Client:
    """Another machine holding copies of the given cookies (the same User-Agent: malware copies that too)."""
    thief = Client()
    for name, morsel in cookies.items():
        thief.cookies[name] = morsel.value
    return thief


def row_of(client) -> Session | None:
    key = client.cookies.get("sessionid")
    return Session.objects.filter(session_key=hash_key(key.value)).first() if key else None


# -- registration ----------------------------------------------------------------


def test_sign_in_offers_registration_with_both_algorithms_the_path_and_a_challenge(client, user):
    offer = registration_offer(sign_in(client, user.username))
    assert offer["algorithms"] == ["ES256", "RS256"]
    assert offer["path"] == REGISTER_URL
    assert BindingChallenge.objects.filter(value=offer["challenge"], purpose="registration").count() == 1


def test_visitors_who_do_not_sign_in_are_offered_nothing(client, user, product):
    assert dbsc.REGISTRATION_HEADER not in client.get("/")
    assert dbsc.REGISTRATION_HEADER not in sign_in(client, user.username, "wrong")


def test_registration_binds_the_session_to_the_public_key_only(bound, client, user):
    row = row_of(client)
    public = get_default_algorithms()["ES256"].to_jwk(bound.key.public_key(), as_dict=True)
    assert row.device_key == {**public, "alg": "ES256"}  # no private member, nothing else about the device
    assert "d" not in row.device_key
    assert row.device_bound_at is not None
    event = AuditEvent.objects.get(event="session_device_bound")
    assert event.details["thumbprint"] == dbsc.thumbprint(row.device_key)
    assert event.session_public_id == row.public_id


def test_registration_answers_the_session_instructions_and_sets_the_bound_cookie(client, user, clock):
    dbsc_browser = DBSCBrowser(client)
    response = dbsc_browser.register(dbsc_browser.sign_in(user))
    instructions = response.json()
    row = row_of(client)
    assert instructions["session_identifier"] == row.public_id
    assert instructions["refresh_url"] == REFRESH_URL
    assert instructions["scope"] == {
        "include_site": False,
        "scope_specification": [{"type": "exclude", "path": "/static"}],
    }
    assert instructions["credentials"] == [
        {"type": "cookie", "name": COOKIE, "attributes": "Path=/; HttpOnly; SameSite=Lax"}
    ]
    cookie = response.cookies[COOKIE]
    assert (cookie["max-age"], cookie["path"], cookie["httponly"], cookie["samesite"]) == (AGE, "/", True, "Lax")
    assert "no-store" in response["Cache-Control"]


def test_the_bound_cookie_is_host_prefixed_and_secure_under_https(client, user, settings, clock):
    settings.DBSC_COOKIE_NAME = "__Host-dbsc"
    settings.SESSION_COOKIE_SECURE = True
    dbsc_browser = DBSCBrowser(client)
    response = dbsc_browser.register(dbsc_browser.sign_in(user))
    cookie = response.cookies["__Host-dbsc"]
    assert cookie["secure"] is True and cookie["path"] == "/" and not cookie["domain"]
    assert response.json()["credentials"][0]["attributes"] == "Path=/; HttpOnly; SameSite=Lax; Secure"


def test_an_rs256_key_registers_and_refreshes(client, user, clock):
    dbsc_browser = DBSCBrowser(client, key=rsa.generate_private_key(public_exponent=65537, key_size=2048), alg="RS256")
    assert dbsc_browser.register(dbsc_browser.sign_in(user)).status_code == 200
    assert row_of(client).device_key["kty"] == "RSA"
    clock.shift(AGE + 1)
    assert dbsc_browser.refresh().status_code == 200
    assert client.get("/accounts/").status_code == 200


def test_the_otp_step_offers_registration_and_the_password_step_does_not(client, clock):
    user = UserFactory(username="mfa-user")
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    password_step = sign_in(client, user.username)
    assert dbsc.REGISTRATION_HEADER not in password_step  # not signed in yet: nothing to bind
    code = pyotp.TOTP(base64.b32encode(device.bin_key).decode()).now()
    otp_step = client.post("/accounts/login/otp/", {"otp_token": code})
    assert otp_step.status_code == 302
    assert DBSCBrowser(client).register(otp_step).status_code == 200


def test_a_passkey_sign_in_offers_registration_too(client, user, clock, settings):
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [ORIGIN]
    sign_in(client, user.username)
    authenticator, _ = add_passkey(client)
    client.post("/accounts/logout/")
    signed_in_by_passkey = passkey_sign_in(client, authenticator)
    assert signed_in_by_passkey.status_code == 200
    assert DBSCBrowser(client).register(signed_in_by_passkey).status_code == 200


def test_registration_challenges_expire(client, user, clock):
    dbsc_browser = DBSCBrowser(client)
    offered = dbsc_browser.sign_in(user)
    clock.shift(dbsc.CHALLENGE_AGE + 1)
    assert dbsc_browser.register(offered).status_code == 403
    assert row_of(client).device_key is None


# -- requests, expiry and refresh ------------------------------------------------------


def test_requests_with_the_bound_cookie_are_served(bound, client):
    assert client.get("/accounts/").status_code == 200
    assert client.get("/accounts/session/status/").json()["authenticated"] is True


def test_refresh_without_proof_answers_403_with_a_fresh_challenge_and_keeps_the_session(bound, client):
    response = client.post(REFRESH_URL, headers={dbsc.SESSION_ID_HEADER: sf(bound.session_id)})
    assert response.status_code == 403
    challenge = challenge_of(response)
    assert challenge["id"] == bound.session_id
    assert BindingChallenge.objects.filter(value=challenge["value"], purpose="refresh").exists()
    assert COOKIE not in response.cookies
    assert client.get("/accounts/").status_code == 200


def test_an_expired_bound_cookie_ends_the_session_unless_the_browser_refreshes(bound, client, clock):
    clock.shift(AGE + 1)
    refreshed = bound.refresh()
    assert refreshed.status_code == 200
    assert refreshed.json()["session_identifier"] == bound.session_id
    assert refreshed.cookies[COOKIE]["max-age"] == AGE
    assert client.get("/accounts/").status_code == 200
    clock.shift(AGE + 1)  # and this time the browser does not refresh
    response = client.get("/accounts/")
    assert response.status_code == 302 and "ended=device" in response["Location"]


def test_the_refresh_is_not_activity(bound, client, clock):
    row = row_of(client)
    clock.shift(AGE + 1)
    bound.refresh()
    assert Session.objects.get(pk=row.pk).last_activity == row.last_activity


# -- thieves ------------------------------------------------------------------------


def test_a_thief_with_the_cookies_but_no_key_is_refused_once_the_bound_cookie_expires(bound, client, clock, settings):
    settings.ADMINS = [("Security", "security@shop.example")]
    thief = thief_with(client.cookies)  # the whole cookie jar, as malware copies it
    assert thief.get("/accounts/").status_code == 200  # for at most DBSC_BOUND_COOKIE_AGE
    clock.shift(AGE + 1)
    asked = thief.post(REFRESH_URL, headers={dbsc.SESSION_ID_HEADER: sf(bound.session_id)})
    assert asked.status_code == 403  # a challenge the thief cannot sign without the key
    forged = proof(es256_key(), challenge_of(asked)["value"], jwk=False)
    headers = {dbsc.SESSION_ID_HEADER: sf(bound.session_id), dbsc.RESPONSE_HEADER: sf(forged)}
    assert thief.post(REFRESH_URL, headers=headers).status_code == 401
    response = thief.get("/accounts/")
    assert response.status_code == 302 and "ended=device" in response["Location"]
    assert Session.objects.filter(public_id=bound.session_id).count() == 0  # the session has ended
    hijack = AuditEvent.objects.get(event="session_hijack_suspected")
    assert hijack.details["reason"] == "device binding"
    assert AuditEvent.objects.filter(event="session_binding_failed", details__reason=dbsc.BAD_SIGNATURE).exists()
    assert [m.subject for m in mail.outbox] == [
        "[shopdemo] Session of alice presented without its device-bound cookie (DBSC)"
    ]


def test_a_thief_with_only_the_session_cookie_is_refused_at_once(bound, client, clock):
    clock.shift(30 + 1)  # past the grace for requests in flight at registration
    thief = thief_with({"sessionid": client.cookies["sessionid"]})
    response = thief.get("/accounts/")
    assert response.status_code == 302 and "ended=device" in response["Location"]
    assert client.get("/accounts/").status_code == 302  # the owner signs in again


def test_a_bound_cookie_of_another_session_is_refused(bound, client, clock):
    other_client = Client()
    other = DBSCBrowser(other_client)
    assert other.register(other.sign_in(UserFactory(username="bob"))).status_code == 200
    clock.shift(31)
    client.cookies[COOKIE] = other_client.cookies[COOKIE].value
    response = client.get("/accounts/")
    assert response.status_code == 302 and "ended=device" in response["Location"]


def test_requests_in_flight_at_registration_are_not_refused(client, user, clock):
    dbsc_browser = DBSCBrowser(client)
    dbsc_browser.register(dbsc_browser.sign_in(user))
    in_flight = thief_with({"sessionid": client.cookies["sessionid"]})  # sent before the cookie arrived
    assert in_flight.get("/accounts/").status_code == 200


def test_a_replayed_registration_proof_is_refused(bound, client, user):
    headers = {dbsc.RESPONSE_HEADER: sf(bound.last_proof)}
    assert client.post(REGISTER_URL, headers=headers).status_code == 403  # already bound, key kept
    other = Client()
    sign_in(other)
    assert other.post(REGISTER_URL, headers=headers).status_code == 403  # that challenge was not this session's
    assert row_of(other).device_key is None


def test_a_replayed_refresh_proof_is_refused(bound, client, clock):
    clock.shift(AGE + 1)
    assert bound.refresh().status_code == 200
    headers = {dbsc.SESSION_ID_HEADER: sf(bound.session_id), dbsc.RESPONSE_HEADER: sf(bound.last_proof)}
    replayed = client.post(REFRESH_URL, headers=headers)
    assert replayed.status_code == 403 and COOKIE not in replayed.cookies
    assert challenge_of(replayed)["value"]  # a fresh challenge, for a browser that signed an old one
    event = AuditEvent.objects.filter(event="session_binding_failed").latest("pk")
    assert event.details == {"step": "refresh", "reason": dbsc.STALE_CHALLENGE}


def test_a_registration_proof_signed_by_another_key_is_refused(client, user, clock):
    dbsc_browser = DBSCBrowser(client)
    offer = registration_offer(dbsc_browser.sign_in(user))
    token = proof(es256_key(), offer["challenge"])
    header, payload, _ = token.split(".")
    _, _, signature = proof(es256_key(), offer["challenge"]).split(".")
    response = client.post(REGISTER_URL, headers={dbsc.RESPONSE_HEADER: sf(f"{header}.{payload}.{signature}")})
    assert response.status_code == 401
    assert row_of(client).device_key is None


def test_a_refresh_proof_signed_by_another_key_is_refused(bound, client, clock):
    clock.shift(AGE + 1)
    asked = client.post(REFRESH_URL, headers={dbsc.SESSION_ID_HEADER: sf(bound.session_id)})
    forged = proof(es256_key(), challenge_of(asked)["value"], jwk=False)
    headers = {dbsc.SESSION_ID_HEADER: sf(bound.session_id), dbsc.RESPONSE_HEADER: sf(forged)}
    response = client.post(REFRESH_URL, headers=headers)
    assert response.status_code == 401 and COOKIE not in response.cookies


# -- bad input: 4xx, never a 500 --------------------------------------------------------


def _challenge(client, user):
    return registration_offer(DBSCBrowser(client).sign_in(user))["challenge"]


def _bad_registration_proofs(challenge):
    key = es256_key()
    p384 = ec.generate_private_key(ec.SECP384R1())
    weak_rsa = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    es256, rs256 = get_default_algorithms()["ES256"], get_default_algorithms()["RS256"]

    def signed(header_jwk, *, signer=key, alg="ES256", typ="dbsc+jwt", claims=None):
        headers = {"typ": typ} | ({} if header_jwk is None else {"jwk": header_jwk})
        return jwt.encode(claims or {"jti": challenge}, signer, algorithm=alg, headers=headers)

    public = es256.to_jwk(key.public_key(), as_dict=True)
    with pytest.warns(jwt.InsecureKeyLengthWarning):  # PyJWT warns the signer; the server refuses the key
        weak_rsa_proof = signed(rs256.to_jwk(weak_rsa.public_key(), as_dict=True), signer=weak_rsa, alg="RS256")
    return {
        "garbage": "not a jwt",
        "empty string": "",
        "three dots": "a.b.c",
        "alg none": jwt.encode({"jti": challenge}, None, algorithm="none", headers={"typ": "dbsc+jwt"}),
        "hmac": signed({"kty": "oct"}, signer="k" * 32, alg="HS256"),
        "wrong typ": signed(public, typ="JWT"),
        "no jwk": signed(None),
        "jwk not an object": signed("x"),
        "broken jwk": signed({"kty": "EC", "crv": "P-256", "x": "!"}),
        "private jwk": signed(es256.to_jwk(key, as_dict=True)),
        "P-384 key": signed(es256.to_jwk(p384.public_key(), as_dict=True), signer=p384, alg="ES384"),
        "P-384 key claiming ES256": signed(es256.to_jwk(p384.public_key(), as_dict=True)),
        "RSA key claiming ES256": signed(rs256.to_jwk(weak_rsa.public_key(), as_dict=True)),
        "1024-bit RSA": weak_rsa_proof,
        "truncated signature": signed(public)[:-6],
        "no jti": signed(public, claims={"sub": "x"}),
        "jti not a string": signed(public, claims={"jti": 12345}),
        "unknown challenge": signed(public, claims={"jti": "made-up"}),
        "expired": signed(public, claims={"jti": challenge, "exp": 1}),
    }


def test_bad_registration_proofs_get_a_4xx_and_bind_nothing(client, user, clock):
    challenge = _challenge(client, user)
    for name, token in _bad_registration_proofs(challenge).items():
        response = client.post(REGISTER_URL, headers={dbsc.RESPONSE_HEADER: sf(token)})
        assert 400 <= response.status_code < 500, name
        assert COOKIE not in response.cookies, name
    assert row_of(client).device_key is None
    # The real challenge is still unused: the browser's own proof goes through.
    good = DBSCBrowser(client)
    response = client.post(REGISTER_URL, headers={dbsc.RESPONSE_HEADER: sf(proof(good.key, challenge))})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "value",
    ["", "(", '"unterminated', "@@@", "1.5", "?1", '"\\"', "a" * 10000, "(ES256 RS256)", '"é"'],
)
def test_garbage_dbsc_headers_get_a_4xx(bound, client, value):
    for headers in (
        {dbsc.RESPONSE_HEADER: value},
        {dbsc.SESSION_ID_HEADER: value},
        {dbsc.SESSION_ID_HEADER: sf(bound.session_id), dbsc.RESPONSE_HEADER: value},
    ):
        for url in (REGISTER_URL, REFRESH_URL):
            response = client.post(url, headers=headers)
            assert 400 <= response.status_code < 500, (url, headers)
    assert client.get("/accounts/").status_code == 200  # the bound session is still fine


def test_unknown_session_ids_get_a_404(bound, client):
    assert client.post(REFRESH_URL, headers={dbsc.SESSION_ID_HEADER: sf("no-such-session")}).status_code == 404
    assert client.post(REFRESH_URL).status_code == 404  # no id at all
    stranger = Client()  # no session cookie
    assert stranger.post(REFRESH_URL, headers={dbsc.SESSION_ID_HEADER: sf(bound.session_id)}).status_code == 404
    assert stranger.post(REGISTER_URL, headers={dbsc.RESPONSE_HEADER: sf("x.y.z")}).status_code in (400, 403)


def test_the_endpoints_are_post_only(client):
    assert client.get(REGISTER_URL).status_code == 405
    assert client.get(REFRESH_URL).status_code == 405


# -- the rest of the session rules -------------------------------------------------------


def test_a_rotated_session_stays_bound_to_the_same_key(bound, client, clock, settings):
    first = row_of(client)
    clock.shift(AGE + 1)
    assert bound.refresh().status_code == 200
    clock.shift(settings.SESSION_ROTATE_INTERVAL - AGE)
    assert client.get("/accounts/").status_code == 200  # rotates the key
    rotated = row_of(client)
    assert rotated.session_key != first.session_key
    assert (rotated.public_id, rotated.device_key) == (first.public_id, first.device_key)
    clock.shift(AGE)
    assert bound.refresh().status_code == 200  # the same key still proves the rotated session
    assert client.get("/accounts/").status_code == 200


def test_the_cached_engine_keeps_the_binding_through_rotation(client, user, clock, settings, cached_variant):
    dbsc_browser = DBSCBrowser(client)
    assert dbsc_browser.register(dbsc_browser.sign_in(user)).status_code == 200
    clock.shift(AGE + 1)
    assert dbsc_browser.refresh().status_code == 200
    clock.shift(settings.SESSION_ROTATE_INTERVAL - AGE)
    assert client.get("/accounts/").status_code == 200  # rotated, read back from the cache
    assert row_of(client).device_key is not None
    clock.shift(AGE)
    assert client.get("/accounts/").status_code == 302  # still enforced: the bound cookie expired


def test_re_authentication_keeps_the_binding(bound, client):
    response = client.post("/accounts/reauth/", {"password": PASSWORD})
    assert response.status_code == 302
    assert row_of(client).device_key is not None
    assert client.get("/accounts/").status_code == 200


def test_sign_out_ends_the_bound_session(bound, client):
    response = client.post("/accounts/logout/")
    assert "cookies" in response["Clear-Site-Data"]  # the browser drops its DBSC session too
    assert Session.objects.filter(public_id=bound.session_id).count() == 0
    assert client.post(REFRESH_URL, headers={dbsc.SESSION_ID_HEADER: sf(bound.session_id)}).status_code == 404


def test_the_user_agent_rule_still_applies_to_bound_sessions(bound, client):
    response = client.get("/accounts/", headers={"User-Agent": "Other/1.0"})
    assert response.status_code == 302 and "ended=hijack" in response["Location"]


def test_sessions_that_never_registered_keep_todays_behaviour(client, user, clock):
    sign_in(client)  # the offer is ignored, as by a browser without DBSC
    clock.shift(AGE + 1)
    assert client.get("/accounts/").status_code == 200
    copy = thief_with(client.cookies)
    assert copy.get("/accounts/").status_code == 200  # no binding to lose: today's rules only


def test_dbsc_disabled_offers_nothing_and_refuses_no_one(client, user, settings, clock):
    dbsc_browser = DBSCBrowser(client)
    offered = dbsc_browser.sign_in(user)
    assert dbsc_browser.register(offered).status_code == 200
    settings.DBSC_ENABLED = False
    clock.shift(AGE + 1)
    assert client.get("/accounts/").status_code == 200  # switching DBSC off locks no one out
    refresh = client.post(REFRESH_URL, headers={dbsc.SESSION_ID_HEADER: sf(dbsc_browser.session_id)})
    assert refresh.status_code == 404 and refresh.json()["continue"] is False  # browsers drop their sessions
    assert dbsc.REGISTRATION_HEADER not in sign_in(Client())


def test_a_bound_session_costs_no_extra_query(bound, client, user):
    unbound = Client()
    sign_in(unbound)
    counts = []
    for each in (client, unbound):
        each.get("/accounts/session/status/")  # settle any first-request writes
        with CaptureQueriesContext(connection) as queries:
            assert each.get("/accounts/session/status/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


# -- visibility -------------------------------------------------------------------------


def test_the_devices_page_says_which_sessions_are_bound(bound, client, user):
    sign_in(Client())
    page = client.get("/accounts/sessions/").content.decode()
    assert page.count('data-bound="yes"') == 1 and page.count('data-bound="no"') == 1


def test_the_inspector_explains_dbsc_with_the_key_thumbprint(bound, client):
    page = client.get("/session/").content.decode()
    assert dbsc.thumbprint(row_of(client).device_key) in page
    assert "Device Bound Session Credentials" in page


def test_the_thumbprint_is_rfc_7638s():
    # RFC 7638 section 3.1's example key and thumbprint.
    jwk = json.loads(
        '{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJEC'
        "PebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8K"
        "JZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0"
        'Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}'
    )
    assert dbsc.thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_the_admin_session_list_says_which_sessions_are_bound_and_filters_on_it(bound, user):
    sign_in(Client())
    staff = Client()
    staff.force_login(UserFactory(username="staffer", is_staff=True, is_superuser=True))
    page = staff.get("/admin/accounts/session/").content.decode()
    assert page.count('class="field-device_bound"><img src="/static/admin/img/icon-yes.svg"') == 1
    only_bound = staff.get("/admin/accounts/session/?bound=yes").content.decode()
    assert bound.session_id in only_bound and only_bound.count('class="field-device_bound"') == 1
    row = Session.objects.get(public_id=bound.session_id)
    detail = staff.get(admin_session_url(row.public_id)).content.decode()
    assert dbsc.thumbprint(row.device_key) in detail


def test_the_dashboard_counts_bound_and_unbound_sessions(bound, user):
    sign_in(Client())
    staff = Client()
    staff.force_login(UserFactory(username="staffer", is_staff=True, is_superuser=True))
    page = staff.get("/admin/dashboard/").content.decode()
    # The staff member's own session is the third signed-in one, not bound.
    assert "1 are bound to their device with DBSC and 2 are not" in page
