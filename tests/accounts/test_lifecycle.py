"""The session lifecycle: timeouts, activity writes, rotation, binding, headers."""

import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Session, hash_key
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

COOKIE = "sessionid"
SIGNED_IN = "Signed in as"
JSON = {"HTTP_ACCEPT": "application/json"}
CHROME_ON_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
)


def is_signed_in(client) -> bool:
    return SIGNED_IN in client.get("/cart/").content.decode()


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
        client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
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
        key = signed_in.cookies[COOKIE].value
        clock.shift(31 * 60 + 1)
        replay = Client()
        replay.cookies[COOKIE] = key
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
        client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
        clock.shift(900)
        state = client.post("/accounts/session/extend/").json()
        assert state["absolute_expires_in"] == 100
        assert state["idle_expires_in"] == 100


class TestRememberMe:
    def test_remember_me_uses_its_own_limits(self, client, user, clock):
        client.post("/accounts/login/", {"username": user.username, "password": PASSWORD, "remember_me": "on"})
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
        assert COOKIE not in response.cookies and not Session.objects.exists()


class TestRotation:
    def test_key_rotates_after_the_interval_and_data_follows(self, signed_in, clock, product):
        signed_in.post("/cart/add/", {"product": product.pk})
        old_key = signed_in.cookies[COOKIE].value
        public_id = Session.objects.get(session_key=hash_key(old_key)).public_id
        clock.shift(15 * 60)
        response = signed_in.get("/")
        new_key = response.cookies[COOKIE].value
        assert new_key != old_key
        row = Session.objects.get(session_key=hash_key(new_key))
        assert row.public_id == public_id and row.user.username == "alice"
        assert signed_in.get("/cart/summary/").json()["count"] == 1

    def test_old_key_works_during_the_grace_and_is_refused_after(self, signed_in, clock):
        old_key = signed_in.cookies[COOKIE].value
        clock.shift(15 * 60)
        new_key = signed_in.get("/").cookies[COOKIE].value
        in_flight = Client()
        in_flight.cookies[COOKIE] = old_key
        clock.shift(29)
        response = in_flight.get("/")
        assert SIGNED_IN in response.content.decode()
        assert response.cookies[COOKIE].value == new_key  # the straggler is moved to the new key
        late = Client()
        late.cookies[COOKIE] = old_key
        clock.shift(2)
        assert not is_signed_in(late)
        assert is_signed_in(signed_in)

    def test_parallel_requests_straddling_a_rotation_are_all_served(self, signed_in, clock):
        old_key = signed_in.cookies[COOKIE].value
        clock.shift(15 * 60)
        clients = []
        for _ in range(5):
            tab = Client()
            tab.cookies[COOKIE] = old_key
            clients.append(tab)
        pages = [tab.get("/cart/").content.decode() for tab in clients]  # each one finds rotation done or due
        assert all(SIGNED_IN in page for page in pages)
        live = Session.objects.filter(successor_key__isnull=True)
        assert live.count() == 1  # one successor, not a fork per request

    def test_rotation_at_sign_out_leaves_no_grace(self, signed_in):
        key = signed_in.cookies[COOKIE].value
        signed_in.post("/accounts/logout/")
        replay = Client()
        replay.cookies[COOKIE] = key
        assert not is_signed_in(replay)


class TestBinding:
    def test_another_browser_presenting_the_cookie_ends_the_session(self, client, user, clock):
        client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}, HTTP_USER_AGENT="Firefox/140")
        thief = Client(HTTP_USER_AGENT="curl/8.0")
        thief.cookies[COOKIE] = client.cookies[COOKIE].value
        response = thief.get("/orders/")
        assert "ended=hijack" in response["Location"]
        assert not Session.objects.exists()
        assert SIGNED_IN not in client.get("/", HTTP_USER_AGENT="Firefox/140").content.decode()

    def test_a_missing_user_agent_does_not_dodge_binding(self, client, user):
        client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}, HTTP_USER_AGENT="Firefox/140")
        thief = Client()
        thief.cookies[COOKIE] = client.cookies[COOKIE].value
        assert not is_signed_in(thief)

    def test_ip_change_is_allowed_by_default(self, client, user):
        client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
        assert SIGNED_IN in client.get("/", REMOTE_ADDR="198.51.100.20").content.decode()

    def test_ip_change_ends_the_session_when_bound(self, client, user, settings):
        settings.SESSION_BIND_IP = True
        client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
        assert "ended=hijack" in client.get("/", REMOTE_ADDR="198.51.100.20")["Location"]

    def test_guest_sessions_are_not_bound(self, client, product):
        client.post("/cart/add/", {"product": product.pk}, HTTP_USER_AGENT="Firefox/140")
        assert client.get("/cart/summary/", HTTP_USER_AGENT="Chrome/150").json()["count"] == 1


class TestHeaders:
    def test_signed_in_pages_are_not_stored(self, signed_in):
        assert "no-store" in signed_in.get("/").headers["Cache-Control"]

    def test_anonymous_catalog_may_be_cached(self, client):
        assert "no-store" not in client.get("/").headers.get("Cache-Control", "")

    def test_response_setting_the_session_cookie_is_not_stored(self, client, product):
        response = client.post("/cart/add/", {"product": product.pk})
        assert COOKIE in response.cookies and "no-store" in response.headers["Cache-Control"]

    def test_content_security_policy(self, client):
        policy = client.get("/").headers["Content-Security-Policy"]
        for directive in ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "default-src 'self'"]:
            assert directive in policy
        assert "unsafe-inline" not in policy


class TestHttpsProfile:
    def run(self, *args):
        # As an operator would run it: without the live-server tests' async override.
        inherited = {key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"}
        env = {
            **inherited,
            "ENV_FILE": "/dev/null",
            "HTTPS": "true",
            "DEBUG": "false",
            "SECRET_KEY": "k3y-" + "x7Qp9zR2mW4vB8nL" * 4,
            "ALLOWED_HOSTS": "shop.example",
        }
        return subprocess.run(
            [sys.executable, "manage.py", *args], env=env, capture_output=True, text=True, cwd=django_settings.BASE_DIR
        )

    def test_check_deploy_reports_nothing(self):
        result = self.run("check", "--deploy", "--fail-level", "DEBUG")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "no issues" in result.stdout

    def test_cookies_get_the_host_prefix_and_secure(self):
        result = self.run(
            "shell",
            "-v",
            "0",
            "-c",
            "from django.conf import settings as s; print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, "
            "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT)",
        )
        assert result.stdout.split() == ["__Host-sessionid", "__Host-csrftoken", "True", "True", "31536000", "True"]


class TestDevices:
    def test_devices_page_lists_sessions_and_marks_this_one(self, signed_in, user):
        laptop = Client(HTTP_USER_AGENT=CHROME_ON_LINUX)
        laptop.post("/accounts/login/", {"username": "alice", "password": PASSWORD, "remember_me": "on"})
        page = signed_in.get("/accounts/sessions/").content.decode()
        assert page.count('data-testid="device-') == 2
        assert page.count("this device") == 1
        assert "Chrome 156 on Linux" in page and "yes (remember me)" in page
        for row in Session.objects.all():
            assert row.session_key not in page

    def test_revoking_another_session_signs_that_browser_out(self, signed_in):
        phone = Client()
        phone.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
        phone_id = Session.objects.get(session_key=hash_key(phone.cookies[COOKIE].value)).public_id
        response = signed_in.post(f"/accounts/sessions/{phone_id}/revoke/")
        assert response["Location"] == "/accounts/sessions/"
        assert not is_signed_in(phone)
        assert is_signed_in(signed_in)

    def test_another_users_session_cannot_be_revoked(self, signed_in):
        UserFactory(username="bob")
        bob = Client()
        bob.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
        bob_id = Session.objects.get(user__username="bob").public_id
        assert signed_in.post(f"/accounts/sessions/{bob_id}/revoke/").status_code == 404
        assert is_signed_in(bob)

    def test_sign_out_all_other_devices(self, signed_in):
        others = [Client() for _ in range(2)]
        for other in others:
            other.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
        response = signed_in.post("/accounts/sessions/revoke-others/")
        assert response.status_code == 302
        assert not any(is_signed_in(other) for other in others)
        assert is_signed_in(signed_in)

    def test_password_change_ends_other_sessions_and_renews_this_key(self, signed_in, user):
        other = Client()
        other.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
        key = signed_in.cookies[COOKIE].value
        response = signed_in.post(
            "/accounts/password/",
            {
                "old_password": PASSWORD,
                "new_password1": "another-long-passphrase",
                "new_password2": "another-long-passphrase",
            },
        )
        assert response["Location"] == "/accounts/sessions/"
        assert signed_in.cookies[COOKIE].value != key
        assert "Password changed. Signed out 1 other session." in [
            str(m) for m in signed_in.get("/").context["messages"]
        ]
        assert is_signed_in(signed_in)
        assert not is_signed_in(other)

    def test_password_change_needs_the_current_password(self, signed_in):
        response = signed_in.post(
            "/accounts/password/",
            {
                "old_password": "wrong",
                "new_password1": "another-long-passphrase",
                "new_password2": "another-long-passphrase",
            },
        )
        assert response.status_code == 200
        assert "Your old password was entered incorrectly" in response.content.decode()

    def test_deactivating_a_user_ends_all_their_sessions(self, signed_in, user):
        user.is_active = False
        user.save()
        assert not Session.objects.filter(user=user).exists()
        assert not is_signed_in(signed_in)


class TestInspector:
    def test_anonymous_visitor_sees_no_session_and_gets_none(self, client):
        response = client.get("/session/")
        assert "No session." in response.content.decode()
        assert COOKIE not in response.cookies

    def test_signed_in_visitor_sees_the_session_explained_without_its_key(self, signed_in):
        page = signed_in.get("/session/").content.decode()
        for text in [
            "Signed in",
            "browser-session cookie",
            "30 minutes without activity",
            "12 hours after signing in",
            "Next key rotation",
            "_auth_user_id",
            "authn_login_success",
            "session_created",
        ]:
            assert text in page, text
        assert signed_in.cookies[COOKIE].value not in page

    def test_guest_sees_the_persistent_cookie_and_cart_key(self, client, product):
        client.post("/cart/add/", {"product": product.pk})
        page = client.get("/session/").content.decode()
        assert "Guest session." in page and "persistent cookie" in page and "cart_id" in page
