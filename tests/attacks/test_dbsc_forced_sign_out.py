"""Signing a device-bound user out from outside, as an attacker would try it.

A DBSC browser ends its session on any 4xx but 403 from the refresh endpoint
and skips the refresh on a 5xx; the server ends the user's session when a
request in scope comes without the bound cookie. So an attacker who can make
the victim's browser send a request the browser will not refresh for, or make
the refresh endpoint fail, signs the victim out (with a false hijack alert).
"""

import base64
import json

import pytest
from django.core import mail
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwt.algorithms import ECAlgorithm

from accounts.models import AuditEvent, Session
from accounts.sessions import dbsc
from tests.accounts.sessions.test_dbsc import AGE, COOKIE, REFRESH_URL, REGISTER_URL, DBSCBrowser, challenge_of, sf
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def victim(client, user, clock, settings):
    """Alice in a DBSC browser, bound; security alerts go to the operators."""
    settings.ADMINS = [("Security", "security@shop.example")]
    browser = DBSCBrowser(client)
    browser.registered = browser.register(browser.sign_in(user))
    assert browser.registered.status_code == 200
    return browser


@pytest.mark.parametrize("path", ["/static/x.js", "/static", "/static/admin/../../accounts/x"])
def test_a_cross_site_link_to_an_excluded_path_after_the_cookie_lapsed_signs_nobody_out(victim, client, clock, path):
    clock.shift(AGE + 1)
    del client.cookies[COOKIE]  # gone at Max-Age; out of scope, so the browser sends the request without refreshing
    response = client.get(path, headers={"Sec-Fetch-Site": "cross-site", "Referer": "https://evil.example/"})
    assert response.status_code == 404
    assert Session.objects.filter(public_id=victim.session_id).exists()
    assert not AuditEvent.objects.filter(event="session_hijack_suspected").exists()
    assert mail.outbox == []
    assert victim.refresh().status_code == 200  # the next page in scope refreshes as usual
    assert client.get("/accounts/").status_code == 200


def test_a_thief_out_of_scope_neither_keeps_the_session_alive_nor_takes_its_next_key(victim, client, clock, settings):
    thief = Client()
    for name, morsel in client.cookies.items():
        thief.cookies[name] = morsel.value  # the whole jar, copied once the bound cookie has lapsed
    row = Session.objects.get(public_id=victim.session_id)
    clock.shift(settings.SESSION_ROTATE_INTERVAL + 1)  # a rotation is due
    response = thief.get("/static/x.js")
    assert response.status_code == 404
    assert "sessionid" not in response.cookies  # no successor key for the thief
    assert Session.objects.get(public_id=victim.session_id).last_activity == row.last_activity
    assert ended(thief.get("/accounts/"))  # in scope, the thief is what it is
    assert AuditEvent.objects.filter(event="session_hijack_suspected").count() == 1


CROSS_SITE_NAVIGATION = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}


def test_a_cross_site_link_after_the_cookie_lapsed_reloads_instead_of_signing_out(victim, client, clock, settings):
    """The browser refreshes before the requests it or this origin start, not before another site's link."""
    row = Session.objects.get(public_id=victim.session_id)
    clock.shift(settings.SESSION_ROTATE_INTERVAL + 1)  # past the bound cookie's age, and a rotation is due
    del client.cookies[COOKIE]
    response = client.get("/orders/", headers=CROSS_SITE_NAVIGATION)
    page = response.content.decode()
    assert response.status_code == 200 and '<meta http-equiv="refresh" content="0">' in page
    assert "alice" not in page and "Signed in" not in page  # nothing of the session is shown
    assert "no-store" in response["Cache-Control"] and "sessionid" not in response.cookies  # no rotation
    assert Session.objects.get(public_id=victim.session_id).last_activity == row.last_activity  # no activity
    assert not AuditEvent.objects.filter(event="session_hijack_suspected").exists() and mail.outbox == []
    # The reload is this origin's own request: the browser refreshes first, and the page is there.
    assert victim.refresh().status_code == 200
    same_origin = {**CROSS_SITE_NAVIGATION, "Sec-Fetch-Site": "same-origin"}
    assert client.get("/orders/", headers=same_origin).status_code == 200


def test_the_reload_page_is_all_a_thief_gets_and_any_other_request_ends_the_session(victim, client, clock):
    clock.shift(AGE + 1)
    thief = Client()
    for name, morsel in client.cookies.items():
        if name != COOKIE:
            thief.cookies[name] = morsel.value
    assert "Signed in" not in thief.get("/accounts/", headers=CROSS_SITE_NAVIGATION).content.decode()
    assert Session.objects.filter(public_id=victim.session_id).exists()
    assert ended(thief.get("/accounts/", headers={**CROSS_SITE_NAVIGATION, "Sec-Fetch-Mode": "cors"}))
    assert AuditEvent.objects.filter(event="session_hijack_suspected").count() == 1


def ended(response) -> bool:
    return response.status_code == 302 and "ended=device" in response["Location"]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
# Header members a DBSC verifier looks at, with values of any type.
JOSE_HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "alg": st.sampled_from(["ES256", "RS256", "none", "HS256", "ES384", ""]) | JSON_VALUES,
        "typ": st.just("dbsc+jwt") | JSON_VALUES,
        "jwk": st.fixed_dictionaries(
            {},
            optional={
                name: st.sampled_from(["EC", "RSA", "oct", "P-256", "AQAB", "", "!"]) | JSON_VALUES
                for name in ("kty", "crv", "x", "y", "n", "e", "d", "alg")
            },
        )
        | JSON_VALUES,
    },
)
CLAIMS = st.fixed_dictionaries({}, optional={"jti": JSON_VALUES, "iat": JSON_VALUES, "aud": JSON_VALUES})
JWTS = st.builds(
    lambda header, claims, signature: ".".join(
        [b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(signature)]
    ),
    JOSE_HEADERS,
    CLAIMS,
    st.binary(max_size=300),
)
HEADER_VALUES = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=200),
    st.from_regex(r'"[ -~]{0,60}"(;[a-z]{1,5}=[ -~]{0,10})?', fullmatch=True),
    JWTS,
    JWTS.map(sf),
)


@FUZZ
@given(
    url=st.sampled_from([REGISTER_URL, REFRESH_URL]),
    session_id=st.none() | HEADER_VALUES,
    response_header=st.none() | HEADER_VALUES,
    body=st.binary(max_size=500),
    content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain"]),
    who=st.sampled_from(["victim", "stranger", "unbound"]),
)
def test_random_input_at_the_dbsc_endpoints_gets_a_4xx_and_harms_no_session(
    victim, unbound, client, url, session_id, response_header, body, content_type, who
):
    device_key = Session.objects.get(public_id=victim.session_id).device_key
    caller = {"victim": client, "stranger": Client(), "unbound": unbound}[who]
    headers = {}
    if session_id is not None:
        headers[dbsc.SESSION_ID_HEADER] = session_id
    if response_header is not None:
        headers[dbsc.RESPONSE_HEADER] = response_header
    response = caller.post(url, body, content_type=content_type, headers=headers)
    assert response.status_code < 500
    assert COOKIE not in response.cookies or response.status_code == 200
    assert client.get("/accounts/").status_code == 200  # the victim is still signed in and bound
    assert Session.objects.get(public_id=victim.session_id).device_key == device_key


@FUZZ
@given(header=JOSE_HEADERS, claims=CLAIMS, quoted=st.booleans())
def test_random_refresh_proofs_signed_by_the_key_itself_never_get_a_5xx(victim, client, header, claims, quoted):
    # Signed with the victim's own key over a challenge the server issued: only the JOSE members are random.
    claims = {"jti": challenge_of(victim.registered)["value"], **claims}
    header = {"typ": "dbsc+jwt", "alg": "ES256", **header}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = ECAlgorithm(ECAlgorithm.SHA256).sign(signing_input.encode(), victim.key)
    session_id = sf(victim.session_id) if quoted else victim.session_id
    headers = {dbsc.SESSION_ID_HEADER: session_id, dbsc.RESPONSE_HEADER: f"{signing_input}.{b64(signature)}"}
    response = client.post(REFRESH_URL, headers=headers)
    assert response.status_code < 500
    assert (COOKIE in response.cookies) is (response.status_code == 200)
    assert client.get("/accounts/").status_code == 200


@pytest.fixture
def unbound(user):
    """A second session of the same user, signed in by a browser without DBSC."""
    other = Client()
    sign_in(other, user.username)
    return other
