"""DBSC as Chrome speaks it: bare session ids, the declared scope, cookies that last their full life, challenges ahead.

The ES256 client of test_dbsc.py, plus a client that behaves the way Chrome
does on the wire: the id bare, no `Origin`, a refresh only before a request in
the instructions' scope whose bound cookie it would no longer attach, and the
challenge it was sent ahead of time signed straight away.
"""

import string
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import http_sfv
import pytest
from django.test import Client, RequestFactory
from django.utils import timezone

from accounts.models import AuditEvent, BindingChallenge, Session
from accounts.sessions import dbsc
from tests.accounts.sessions.test_dbsc import AGE, COOKIE, REFRESH_URL, DBSCBrowser, challenge_of, proof, sf
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

BASE64URL = string.ascii_letters + string.digits + "-_"  # every character a public id can start with
TRANSIT = 0.2  # seconds each way between the test's browser and the server (a 400 ms round trip)


def ended(response) -> bool:
    return response.status_code == 302 and "ended=device" in response["Location"]


def with_public_id(monkeypatch, public_id):
    """Make the next session row take this public id, as rows made before ids began with a letter have."""
    monkeypatch.setattr("accounts.sessions.store.new_public_id", lambda: public_id)


def refresh_with(client, session_id_header, challenge, key):
    """One refresh POST that signs `challenge` and names the session as given (bare or quoted)."""
    headers = {dbsc.SESSION_ID_HEADER: session_id_header, dbsc.RESPONSE_HEADER: proof(key, challenge, jwk=False)}
    return client.post(REFRESH_URL, headers=headers)


@pytest.fixture
def bound(client, user, clock):
    browser = DBSCBrowser(client)
    registered = browser.register(browser.sign_in(user))
    assert registered.status_code == 200, registered.content
    browser.registered = registered
    return browser


# -- the session id, bare and quoted ---------------------------------------------------------


def test_new_session_ids_are_structured_field_tokens(bound):
    item = http_sfv.Item()
    item.parse(bound.session_id.encode())
    assert isinstance(item.value, http_sfv.Token) and str(item.value) == bound.session_id
    for _ in range(300):  # a letter first, whatever the random part
        item.parse(Session().public_id.encode())
        assert isinstance(item.value, http_sfv.Token)


@pytest.mark.parametrize("form", ["bare", "quoted"])
def test_a_refresh_names_the_session_bare_or_quoted(bound, client, clock, form):
    clock.shift(AGE + 1)
    header = bound.session_id if form == "bare" else sf(bound.session_id)
    response = refresh_with(client, header, challenge_of(bound.registered)["value"], bound.key)
    assert response.status_code == 200, response.content
    assert client.get("/accounts/").status_code == 200


@pytest.mark.parametrize("first", BASE64URL)
def test_ids_of_every_first_character_refresh_bare_and_quoted(client, user, clock, monkeypatch, first):
    # Ids issued before they began with a letter: one in five starts with a digit, "-" or "_", no sf-token.
    with_public_id(monkeypatch, f"{first}Zq-4_x9LmN0pQrStUvWxYz")
    browser = DBSCBrowser(client)
    registered = browser.register(browser.sign_in(user))
    assert browser.session_id == f"{first}Zq-4_x9LmN0pQrStUvWxYz"
    challenge = challenge_of(registered)["value"]
    for header in (browser.session_id, sf(browser.session_id)):
        clock.shift(AGE + 1)
        response = refresh_with(client, header, challenge, browser.key)
        assert response.status_code == 200, (header, response.content)
        challenge = challenge_of(response)["value"]
        assert client.get("/accounts/").status_code == 200


def test_a_bare_id_of_another_session_is_unknown(bound, client):
    other = "A" + bound.session_id[1:] if bound.session_id[0] != "A" else "B" + bound.session_id[1:]
    response = client.post(REFRESH_URL, headers={dbsc.SESSION_ID_HEADER: other})
    assert response.status_code == 404 and response.json()["error"] == dbsc.UNKNOWN_SESSION


# -- the scope the instructions declare --------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "in_scope"),
    [
        ("/static", False),
        ("/static/", False),
        ("/static/css/site.css", False),
        ("/static/gone.0123abcd.js", False),
        (REFRESH_URL, False),
        ("/staticky", True),  # a path rule covers the path and what lies under it, nothing else
        ("/", True),
        ("/accounts/", True),
        ("/accounts/session/dbsc/register/", True),
    ],
)
def test_the_scope_is_the_one_the_instructions_declare(path, in_scope):
    assert dbsc.SCOPE["scope_specification"] == [{"type": "exclude", "path": "/static"}]
    assert dbsc.in_scope(RequestFactory().get(path)) is in_scope


@pytest.mark.parametrize("cookie", ["expired", "dropped"])
def test_an_excluded_path_with_a_lapsed_bound_cookie_ends_nothing(bound, client, clock, settings, cookie):
    settings.ADMINS = [("Security", "security@shop.example")]
    clock.shift(AGE + 1)
    if cookie == "dropped":  # what the browser does at Max-Age
        del client.cookies[COOKIE]
    # A stale hashed asset after a deploy reaches Django; the browser did not refresh first: out of scope.
    assert client.get("/static/gone.0123abcd.js").status_code == 404
    assert Session.objects.filter(public_id=bound.session_id).exists()
    assert not AuditEvent.objects.filter(event="session_hijack_suspected").exists()
    # The next page is in scope: the browser refreshes, and the user is still signed in.
    clock.shift(1)
    assert bound.refresh().status_code == 200
    assert client.get("/accounts/").status_code == 200


def test_an_in_scope_path_with_a_lapsed_bound_cookie_still_ends_the_session(bound, client, clock):
    clock.shift(AGE + 1)
    assert ended(client.get("/staticky"))


# -- the bound cookie's full life --------------------------------------------------------------


@pytest.fixture
def registered_at_fraction(client, user, clock):
    """A session bound at .9 of a second: whole seconds would count its cookie from .0."""
    clock.move_to(datetime(2026, 3, 1, 12, 0, 0, 900_000, tzinfo=dt_timezone.utc), tick=False)
    browser = DBSCBrowser(client)
    assert browser.register(browser.sign_in(user)).status_code == 200
    return browser


def test_the_bound_cookie_is_accepted_until_its_max_age_ends(registered_at_fraction, client, clock):
    clock.shift(AGE - 0.1)
    assert client.get("/accounts/").status_code == 200


def test_the_bound_cookie_is_accepted_within_the_allowance_after_its_max_age(registered_at_fraction, client, clock):
    clock.shift(AGE + dbsc.BOUND_COOKIE_ALLOWANCE - 0.01)  # sent at the last moment, still on its way
    assert client.get("/accounts/").status_code == 200


def test_the_bound_cookie_is_refused_a_second_after_its_max_age(registered_at_fraction, client, clock):
    clock.shift(AGE + 1)
    assert ended(client.get("/accounts/"))


def test_a_short_bound_cookie_lasts_its_whole_max_age(client, user, clock, settings):
    # The case that was reported: Max-Age=4, refused at 3.75 s.
    settings.DBSC_BOUND_COOKIE_AGE = 4
    clock.move_to(datetime(2026, 3, 1, 12, 0, 0, 700_000, tzinfo=dt_timezone.utc), tick=False)
    browser = DBSCBrowser(client)
    assert browser.register(browser.sign_in(user)).status_code == 200
    for step in (3.4, 0.2, 0.15, 0.15):  # 3.40, 3.60, 3.75, 3.90 s
        clock.shift(step)
        assert client.get("/accounts/session/status/").json()["authenticated"] is True
    clock.shift(1.1)  # 5.0 s
    assert ended(client.get("/accounts/"))


def test_a_bound_cookie_set_before_milliseconds_were_added_still_counts_its_age(bound, client, clock):
    old_form = dbsc.signing.TimestampSigner(salt=dbsc.COOKIE_SALT).sign(bound.session_id)
    client.cookies[COOKIE] = old_form
    clock.shift(AGE - 1)
    assert client.get("/accounts/").status_code == 200
    clock.shift(3)
    assert ended(client.get("/accounts/"))


# -- challenges ahead of time ------------------------------------------------------------------


def test_the_registration_answer_carries_the_next_refresh_challenge(bound, clock):
    challenge = challenge_of(bound.registered)
    assert challenge["id"] == bound.session_id
    row = BindingChallenge.objects.get(value=challenge["value"])
    assert row.purpose == "refresh" and row.session_public_id == bound.session_id
    # It lives as long as the cookie it comes with, and then the usual time to sign it.
    assert row.expires_at == timezone.now() + timedelta(seconds=AGE + dbsc.CHALLENGE_AGE)


def test_a_refresh_signs_the_challenge_sent_ahead_without_a_403(bound, client, clock):
    clock.shift(AGE + 1)
    first = refresh_with(client, bound.session_id, challenge_of(bound.registered)["value"], bound.key)
    assert first.status_code == 200  # no 403 round trip first
    assert first.cookies[COOKIE]["max-age"] == AGE
    following = challenge_of(first)
    assert following["id"] == bound.session_id
    clock.shift(AGE + 1)
    assert refresh_with(client, bound.session_id, following["value"], bound.key).status_code == 200
    assert client.get("/accounts/").status_code == 200


def test_a_challenge_sent_ahead_is_single_use(bound, client, clock):
    challenge = challenge_of(bound.registered)["value"]
    clock.shift(AGE + 1)
    assert refresh_with(client, bound.session_id, challenge, bound.key).status_code == 200
    again = refresh_with(client, bound.session_id, challenge, bound.key)
    assert again.status_code == 403 and COOKIE not in again.cookies
    assert challenge_of(again)["value"] != challenge  # a fresh one to sign instead


def test_a_challenge_sent_ahead_expires(bound, client, clock):
    clock.shift(AGE + dbsc.CHALLENGE_AGE + 1)
    late = refresh_with(client, bound.session_id, challenge_of(bound.registered)["value"], bound.key)
    assert late.status_code == 403
    assert refresh_with(client, bound.session_id, challenge_of(late)["value"], bound.key).status_code == 200


def test_refused_answers_send_no_challenge_ahead(bound, client):
    stranger = Client()
    response = stranger.post(REFRESH_URL, headers={dbsc.SESSION_ID_HEADER: bound.session_id})
    assert response.status_code == 404 and dbsc.CHALLENGE_HEADER not in response


# -- a client that speaks exactly like Chrome --------------------------------------------------


def draft_in_scope(instructions, path) -> bool:
    """The draft's § Identify if a URL is in scope, for this origin, written from the spec text."""
    if path == instructions["refresh_url"]:
        return False
    for rule in reversed(instructions["scope"]["scope_specification"]):
        pattern = rule["path"]
        if path == pattern or (pattern.endswith("/") and path.startswith(pattern)) or path.startswith(f"{pattern}/"):
            return rule["type"] == "include"
    return True


class ChromeLike:
    """Chrome's DBSC client over the test client: it keeps its own cookie clock and cached challenge.

    - the bound cookie is dropped at its Max-Age, counted from when the answer arrived;
    - before a request in scope without the cookie, it refreshes: `Sec-Secure-Session-Id` bare,
      signing the cached challenge if it has one, a 403's challenge otherwise;
    - a `Secure-Session-Challenge` on any answer becomes the cached challenge;
    - any refresh answer but 200 or 403 terminates its DBSC session, and the request goes on without;
    - no `Origin` header anywhere; answers and requests each take TRANSIT seconds.
    """

    def __init__(self, client, clock, key):
        self.client, self.clock, self.key = client, clock, key
        self.instructions = None
        self.cookie_until = None
        self.cached_challenge = None
        self.refreshes = 0
        self.terminated = False

    def _send(self, method, path, **kwargs):
        self.clock.shift(TRANSIT)
        response = getattr(self.client, method)(path, **kwargs)
        self.clock.shift(TRANSIT)
        if dbsc.CHALLENGE_HEADER in response:
            challenge = challenge_of(response)
            if challenge["id"] == self.session_id:
                self.cached_challenge = challenge["value"]
        if COOKIE in response.cookies:
            self.cookie_until = datetime.now(dt_timezone.utc) + timedelta(
                seconds=int(response.cookies[COOKIE]["max-age"])
            )
        return response

    @property
    def session_id(self):
        return self.instructions and self.instructions["session_identifier"]

    def register(self, offered):
        offer = offered.headers[dbsc.REGISTRATION_HEADER]
        parsed = http_sfv.List()
        parsed.parse(offer.encode())
        params = dict(parsed[0].params)
        self.instructions = {"session_identifier": None}
        response = self._send(
            "post", params["path"], headers={dbsc.RESPONSE_HEADER: proof(self.key, params["challenge"])}
        )
        assert response.status_code == 200, response.content
        self.instructions = response.json()
        self.cached_challenge = challenge_of(response)["value"]  # seen before the id was known
        return response

    def _refresh(self):
        self.refreshes += 1
        headers = {dbsc.SESSION_ID_HEADER: self.session_id}  # bare, as Chrome sends it
        if self.cached_challenge:
            headers[dbsc.RESPONSE_HEADER] = proof(self.key, self.cached_challenge, jwk=False)
            self.cached_challenge = None
        response = self._send("post", self.instructions["refresh_url"], headers=headers)
        if response.status_code == 403 and self.cached_challenge:
            headers[dbsc.RESPONSE_HEADER] = proof(self.key, self.cached_challenge, jwk=False)
            self.cached_challenge = None
            response = self._send("post", self.instructions["refresh_url"], headers=headers)
        if response.status_code == 200:
            self.instructions = response.json()
        else:
            self.terminated = True

    def get(self, path):
        if self.cookie_until is not None and datetime.now(dt_timezone.utc) >= self.cookie_until:
            self.client.cookies.pop(COOKIE, None)  # the browser no longer attaches it
            self.cookie_until = None
        if not self.terminated and draft_in_scope(self.instructions, path) and COOKIE not in self.client.cookies:
            self._refresh()
        return self._send("get", path)


@pytest.mark.parametrize(
    "public_id", [None, "0legacyIdOfADigit_abcd", "-legacyIdOfADash_abcd", "_legacyIdOfAnUnder_ab"]
)
def test_a_chrome_like_client_never_loses_its_session_while_it_keeps_its_key(
    client, user, clock, monkeypatch, settings, public_id
):
    settings.ADMINS = [("Security", "security@shop.example")]
    if public_id:
        with_public_id(monkeypatch, public_id)
    chrome = ChromeLike(client, clock, DBSCBrowser(client).key)
    # Remember-me: the idle limit, which static files and refreshes do not reset, is not what is under test.
    chrome.register(sign_in(client, user.username, remember=True))
    session = chrome.session_id
    paths = ["/accounts/", "/static/gone.0123abcd.js", "/accounts/session/status/", "/static/", "/cart/", "/"]
    # Pauses around each edge of the cookie's life, a refresh, and rotation (every 900 s): five hours of use.
    pauses = [AGE - 0.5, 0.1, 0.3, 1, AGE - 1, 0.6, 37, 599, 250, AGE + 5, 0.05, AGE - 0.4, 2 * AGE, 1]
    for step in range(60):
        clock.shift(pauses[step % len(pauses)])
        path = paths[step % len(paths)]
        response = chrome.get(path)
        assert not ended(response), (step, path)
        if not path.startswith("/static"):
            assert response.status_code == 200, (step, path)
            assert chrome.get("/accounts/session/status/").json()["authenticated"] is True
    assert chrome.refreshes >= 10 and not chrome.terminated
    assert Session.objects.live().filter(public_id=session).exists()
    assert not AuditEvent.objects.filter(event="session_hijack_suspected").exists()
    # After a pause longer than a challenge's life the cached one is stale: a 403, and the fresh one is signed.
    refused = AuditEvent.objects.filter(event="session_binding_failed")
    assert {event.details["reason"] for event in refused} <= {dbsc.STALE_CHALLENGE}
    assert refused.count() < chrome.refreshes / 2


def test_the_same_client_that_loses_its_key_is_signed_out(client, user, clock):
    chrome = ChromeLike(client, clock, DBSCBrowser(client).key)
    chrome.register(DBSCBrowser(client).sign_in(user))
    chrome.key = DBSCBrowser(client).key  # the key is gone (a profile copied elsewhere): another one signs
    clock.shift(AGE + 1)
    assert ended(chrome.get("/accounts/"))  # the refresh is refused (401), the request goes on without
    assert chrome.terminated
    assert not Session.objects.filter(public_id=chrome.session_id).exists()
