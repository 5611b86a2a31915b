"""A signed-in session bound to its browser, and optionally its address (accounts/sessions/middleware.py)."""

import pytest
from django.test import Client

from accounts.models import Session
from tests.conftest import SESSION_COOKIE, is_signed_in, sign_in

pytestmark = pytest.mark.django_db

SIGNED_IN = "Signed in as"


class TestBinding:
    def test_another_browser_presenting_the_cookie_ends_the_session(self, client, user, clock):
        sign_in(client, HTTP_USER_AGENT="Firefox/140")
        thief = Client(HTTP_USER_AGENT="curl/8.0")
        thief.cookies[SESSION_COOKIE] = client.cookies[SESSION_COOKIE].value
        response = thief.get("/orders/")
        assert "ended=hijack" in response["Location"]
        assert not Session.objects.exists()
        assert SIGNED_IN not in client.get("/", HTTP_USER_AGENT="Firefox/140").content.decode()

    def test_a_missing_user_agent_does_not_dodge_binding(self, client, user):
        sign_in(client, HTTP_USER_AGENT="Firefox/140")
        thief = Client()
        thief.cookies[SESSION_COOKIE] = client.cookies[SESSION_COOKIE].value
        assert not is_signed_in(thief)

    def test_ip_change_is_allowed_by_default(self, client, user):
        sign_in(client)
        assert SIGNED_IN in client.get("/", REMOTE_ADDR="198.51.100.20").content.decode()

    def test_ip_change_ends_the_session_when_bound(self, client, user, settings):
        settings.SESSION_BIND_IP = True
        sign_in(client)
        assert "ended=hijack" in client.get("/", REMOTE_ADDR="198.51.100.20")["Location"]

    def test_guest_sessions_are_not_bound(self, client, product):
        client.post("/cart/add/", {"product": product.pk}, HTTP_USER_AGENT="Firefox/140")
        assert client.get("/cart/summary/", HTTP_USER_AGENT="Chrome/150").json()["count"] == 1
