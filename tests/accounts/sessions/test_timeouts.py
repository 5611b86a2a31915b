"""Idle and absolute timeouts, remember-me limits and sparse activity writes (accounts/sessions/policy.py)."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Session, hash_key
from tests.conftest import SESSION_COOKIE, is_signed_in, sign_in

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


def session_writes(queries) -> int:
    return sum(1 for q in queries if q["sql"].startswith(("UPDATE", "INSERT")) and "accounts_session" in q["sql"])


class TestIdleTimeout:
    def test_idle_past_the_limit_ends_on_the_sign_in_page_with_the_real_number(self, signed_in, clock):
        clock.shift(30 * 60 + 61)
        response = signed_in.get("/orders/")
        assert response["Location"] == "/accounts/login/?ended=idle&next=%2Forders%2F"
        page = signed_in.get(response["Location"]).content.decode()
        assert "You were signed out after 30 minutes without activity." in page
        assert not Session.objects.exists()

    def test_the_limit_follows_the_setting(self, client, user, clock, settings):
        settings.SESSION_IDLE_TIMEOUT = 600
        sign_in(client)
        clock.shift(600 + 61)
        location = client.get("/")["Location"]
        assert "You were signed out after 10 minutes without activity." in client.get(location).content.decode()

    def test_just_inside_the_limit_is_still_signed_in(self, signed_in, clock):
        clock.shift(30 * 60 - 1)
        assert is_signed_in(signed_in)

    def test_activity_keeps_the_session_alive(self, signed_in, clock):
        for _ in range(6):
            clock.shift(20 * 60)
            assert is_signed_in(signed_in)

    def test_the_session_never_outlives_idle_plus_granularity(self, signed_in, clock):
        # Activity is recorded at most once a minute, so the deadline allows
        # one minute more than the limit, and not a second beyond it.
        clock.shift(30 * 60 + 60 + 1)
        assert not is_signed_in(signed_in)

    def test_replayed_cookie_after_expiry_is_refused(self, signed_in, clock):
        key = signed_in.cookies[SESSION_COOKIE].value
        clock.shift(31 * 60 + 1)
        replay = Client()
        replay.cookies[SESSION_COOKIE] = key
        assert not is_signed_in(replay)
        assert not Session.objects.filter(session_key=hash_key(key)).exists()

    def test_status_poll_is_not_activity(self, signed_in, clock):
        for _ in range(10):
            clock.shift(5 * 60)
            state = signed_in.get("/accounts/session/status/", **JSON).json()
        assert state["authenticated"] is False
        assert not is_signed_in(signed_in)


class TestAbsoluteTimeout:
    def test_absolute_limit_ends_even_an_active_session(self, signed_in, clock):
        for _ in range(12 * 4 - 1):
            clock.shift(15 * 60)
            assert is_signed_in(signed_in)
        clock.shift(15 * 60)
        response = signed_in.get("/cart/")
        assert "ended=absolute" in response["Location"]
        assert "more than 12 hours old" in signed_in.get(response["Location"]).content.decode()

    def test_extend_never_passes_the_absolute_limit(self, client, user, clock, settings):
        settings.SESSION_ABSOLUTE_TIMEOUT = 1000
        sign_in(client)
        clock.shift(900)
        state = client.post("/accounts/session/extend/").json()
        assert state["absolute_expires_in"] == 100
        assert state["idle_expires_in"] == 100


class TestRememberMe:
    def test_remember_me_uses_its_own_limits(self, client, user, clock):
        sign_in(client, user.username, remember=True)
        state = client.get("/accounts/session/status/", **JSON).json()
        assert state["persistent"] is True
        assert state["absolute_expires_in"] == 30 * 24 * 3600
        clock.shift(13 * 24 * 3600)
        assert is_signed_in(client)
        clock.shift(15 * 24 * 3600)
        response = client.get("/cart/")
        assert response["Location"] == "/accounts/login/?ended=idle&remember=1&next=%2Fcart%2F"
        assert (
            "You were signed out after 14 days without activity." in client.get(response["Location"]).content.decode()
        )

    def test_guest_cart_lives_guest_session_age_and_slides_with_activity(self, client, product, clock):
        client.post("/cart/add/", {"product": product.pk})
        clock.shift(10 * 24 * 3600)
        assert client.get("/cart/summary/").json()["count"] == 1
        clock.shift(10 * 24 * 3600)
        assert client.get("/cart/summary/").json()["count"] == 1
        clock.shift(15 * 24 * 3600)
        assert client.get("/cart/summary/").json()["count"] == 0


class TestActivityWrites:
    def test_browsing_writes_the_session_at_most_once_a_minute(self, signed_in, clock, product):
        with CaptureQueriesContext(connection) as queries:
            for _ in range(12):
                clock.shift(10)
                signed_in.get("/")
        assert session_writes(queries.captured_queries) == 2  # 120 s of browsing, one write per minute

    def test_extend_resets_the_idle_timer(self, signed_in, clock):
        clock.shift(25 * 60)
        state = signed_in.post("/accounts/session/extend/").json()
        assert state["idle_expires_in"] == 30 * 60 + 60
        clock.shift(29 * 60)
        assert is_signed_in(signed_in)

    def test_status_payload(self, signed_in, clock):
        clock.shift(100)
        assert signed_in.get("/accounts/session/status/", **JSON).json() == {
            "authenticated": True,
            "persistent": False,
            "idle_expires_in": 30 * 60 + 60 - 100,
            "absolute_expires_in": 12 * 3600 - 100,
            "warn_before": 120,
        }

    def test_status_for_a_visitor_without_session_creates_none(self, client):
        response = client.get("/accounts/session/status/")
        assert response.json()["authenticated"] is False
        assert SESSION_COOKIE not in response.cookies and not Session.objects.exists()
