"""The audit trail: each event from the action that causes it, in the JSON log and the table."""

import io
import json
import logging

import pytest
from django.db import connection
from django.test import Client
from pythonjsonlogger.json import JsonFormatter

from accounts.models import AuditEvent, Session, hash_key
from tests.conftest import SESSION_COOKIE, confirm_it_is_me, sign_in
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def events(name):
    return list(AuditEvent.objects.filter(event=name))


def logged(audit_log, name):
    return [line for line in audit_log() if line["message"] == name]


class TestEventsFromActions:
    def test_sign_in_records_success_with_who_where_and_when(self, client, user, audit_log):
        sign_in(client, HTTP_USER_AGENT="Firefox/140.0")
        [line] = logged(audit_log, "authn_login_success")
        assert line["user"] == "alice" and line["ip"] == "127.0.0.1" and line["user_agent"] == "Firefox/140.0"
        assert line["path"] == "/accounts/login/" and line["levelname"] == "INFO"
        assert line["timestamp"].endswith("+00:00")  # UTC, ISO 8601
        assert line["session"] == Session.objects.get().public_id
        [row] = events("authn_login_success")
        assert row.user == user and row.session_public_id == line["session"]

    def test_failure_then_success_is_success_after_fail(self, client, user, audit_log):
        sign_in(client, password="wrong")
        sign_in(client)
        assert [line["user"] for line in logged(audit_log, "authn_login_fail")] == ["alice"]
        assert len(events("authn_login_successafterfail")) == 1
        assert not events("authn_login_success")

    def test_lockout_is_recorded(self, client, user):
        for _ in range(5):
            sign_in(client, password="wrong")
        assert [event.username for event in events("authn_login_lock")] == ["alice"]

    def test_password_change_is_recorded(self, client, user):
        sign_in(client)
        confirm_it_is_me(client)
        client.post(
            "/accounts/password/",
            {
                "old_password": PASSWORD,
                "new_password1": "brand-new-passphrase",
                "new_password2": "brand-new-passphrase",
            },
        )
        assert len(events("authn_password_change")) == 1

    def test_guest_session_creation_and_renewal_at_sign_in(self, client, user, product):
        client.post("/cart/add/", {"product": product.pk})
        [created] = events("session_created")
        sign_in(client)
        [renewed] = events("session_renewed")
        assert renewed.details == {"because": "authentication"}
        assert renewed.session_public_id == created.session_public_id

    def test_rotation_is_recorded_as_renewal(self, client, user, clock):
        sign_in(client)
        clock.shift(15 * 60)
        client.get("/")
        assert len(events("session_created")) == 1  # no guest session before: sign-in created it
        assert [event.details["because"] for event in events("session_renewed")] == ["interval"]

    def test_idle_expiry_and_use_after_expire(self, client, user, clock):
        sign_in(client)
        clock.shift(32 * 60)
        client.get("/")
        assert [event.details["reason"] for event in events("session_expired")] == ["idle"]
        [used] = events("session_use_after_expire")
        assert used.details == {"known": True, "reason": "idle"} and used.user == user

    def test_unknown_session_id_is_recorded(self, client):
        client.cookies[SESSION_COOKIE] = "x" * 32
        client.get("/")
        assert events("session_use_after_expire")[0].details == {"known": False, "count": 1}

    def test_logout_is_recorded(self, client, user):
        sign_in(client)
        public_id = Session.objects.get().public_id
        client.post("/accounts/logout/")
        [event] = events("session_logout")
        assert event.session_public_id == public_id and event.user == user

    def test_hijack_is_recorded(self, client, user):
        sign_in(client, HTTP_USER_AGENT="Firefox/140.0")
        thief = Client(HTTP_USER_AGENT="curl/8")
        thief.cookies[SESSION_COOKIE] = client.cookies[SESSION_COOKIE].value
        thief.get("/")
        [event] = events("session_hijack_suspected")
        assert event.level == "CRITICAL" and event.details["expected_user_agent"] == "Firefox/140.0"

    def test_revoking_a_session_is_recorded_as_its_expiry(self, client, user):
        other = Client()
        sign_in(other)
        sign_in(client)
        other_id = Session.objects.get(session_key=hash_key(other.cookies[SESSION_COOKIE].value)).public_id
        confirm_it_is_me(client)
        client.post(f"/accounts/sessions/{other_id}/revoke/")
        [event] = events("session_expired")
        assert event.session_public_id == other_id and event.details == {"reason": "revoked"}

    def test_foreign_session_revoke_is_authz_fail(self, client, user):
        UserFactory(username="bob")
        bob = Client()
        sign_in(bob, "bob")
        sign_in(client)
        confirm_it_is_me(client)
        client.post(f"/accounts/sessions/{Session.objects.get(user__username='bob').public_id}/revoke/")
        assert len(events("authz_fail")) == 1

    def test_csrf_failure_is_malicious_csrf(self, product):
        Client(enforce_csrf_checks=True).post("/cart/add/", {"product": product.pk})
        [event] = events("malicious_csrf")
        assert event.path == "/cart/add/"


class TestLogIntegrity:
    def test_newline_in_a_username_cannot_forge_a_line(self, client, audit_log):
        sign_in(client, username='mallory\n{"message": "authn_login_success", "user": "admin"}')
        lines = audit_log()
        assert [line["message"] for line in lines] == ["authn_login_fail"]
        assert lines[0]["user"].startswith("mallory\n")

    def test_the_session_key_never_appears_in_any_log_line(self, client, user, product, clock):
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(JsonFormatter(timestamp=True))
        logging.getLogger().addHandler(handler)
        keys = []
        try:
            client.post("/cart/add/", {"product": product.pk})
            keys.append(client.cookies[SESSION_COOKIE].value)
            sign_in(client)
            keys.append(client.cookies[SESSION_COOKIE].value)
            clock.shift(15 * 60)
            client.get("/")
            keys.append(client.cookies[SESSION_COOKIE].value)
            clock.shift(40 * 60)
            client.get("/orders/")
        finally:
            logging.getLogger().removeHandler(handler)
        output = stream.getvalue()
        assert "session_expired" in output
        assert all(key not in output for key in keys)
        assert all(key not in json.dumps(list(AuditEvent.objects.values()), default=str) for key in keys)

    def test_a_failing_audit_write_does_not_break_the_request(self, client, user, audit_log):
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE accounts_auditevent")
        response = sign_in(client)
        assert response.status_code == 302
        assert "Signed in as" in client.get("/").content.decode()
        assert logged(audit_log, "audit_write_failed")
