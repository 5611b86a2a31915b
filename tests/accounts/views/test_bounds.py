"""What an attacker can make the server hold or answer is bounded."""

import pytest
from django.test import Client

from accounts.flows import account
from accounts.flows.reauth import MSG_TOO_LARGE_TO_HOLD
from accounts.models import AuditEvent, Session
from accounts.sessions.policy import RESUME
from accounts.sessions.store import engine_store
from accounts.views.account import MSG_REGISTER_THROTTLED
from tests.conftest import SESSION_COOKIE

pytestmark = pytest.mark.django_db


class TestHeldPost:
    @pytest.fixture
    def stale(self, signed_in, clock):
        clock.shift(301)  # past REAUTH_WINDOW: critical POSTs are held for re-authentication
        return signed_in

    def held(self, client):
        """The held POST, as the session's own key opens it (it is sealed in the row)."""
        return engine_store()(client.cookies[SESSION_COOKIE].value).get(RESUME)

    def test_a_normal_critical_post_is_held(self, stale):
        response = stale.post("/accounts/email/", {"email": "alice@new.example"})
        assert "Enter your password to change your email address." in response.content.decode()
        assert self.held(stale)["data"] == [["email", ["alice@new.example"]]]

    def test_a_huge_field_is_refused_with_413_and_not_held(self, stale):
        response = stale.post("/accounts/email/", {"email": "a" * 2_300_000})
        assert response.status_code == 413
        assert MSG_TOO_LARGE_TO_HOLD in response.content.decode()
        assert self.held(stale) is None
        assert len(Session.objects.get().session_data) < 2000

    def test_too_many_fields_are_refused_with_413(self, stale):
        response = stale.post("/accounts/email/", {f"f{n}": "x" for n in range(40)})
        assert response.status_code == 413 and self.held(stale) is None


class TestRegistrationThrottle:
    def probe(self, client, username):
        return client.post(
            "/accounts/register/",
            {"username": username, "email": "", "password1": "x", "password2": "y"},
            REMOTE_ADDR="203.0.113.7",
        )

    def test_probes_past_the_hourly_limit_get_429_without_saying_whether_a_name_is_taken(
        self, client, user, settings, clock
    ):
        settings.REGISTRATION_PER_IP_PER_HOUR = 3
        for _ in range(3):
            assert "already exists" in self.probe(client, "alice").content.decode()  # handles are public
        refused = self.probe(client, "alice")
        assert refused.status_code == 429
        page = refused.content.decode()
        assert MSG_REGISTER_THROTTLED in page and "already exists" not in page
        [burst] = AuditEvent.objects.filter(event=account.REGISTER_THROTTLED)
        assert burst.ip == "203.0.113.7" and burst.details["attempts"] == 4
        self.probe(client, "bob")
        assert AuditEvent.objects.filter(event=account.REGISTER_THROTTLED).count() == 1  # one record a burst
        clock.shift(3600)
        assert self.probe(client, "carol").status_code != 429

    def test_other_addresses_are_not_throttled(self, settings):
        settings.REGISTRATION_PER_IP_PER_HOUR = 1
        Client().post("/accounts/register/", {"username": "x"}, REMOTE_ADDR="198.51.100.1")
        Client().post("/accounts/register/", {"username": "x"}, REMOTE_ADDR="198.51.100.1")
        assert Client().post("/accounts/register/", {"username": "x"}, REMOTE_ADDR="198.51.100.2").status_code != 429
