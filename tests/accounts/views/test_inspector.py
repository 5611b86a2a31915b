"""The session inspector at /session/ (accounts/views/session.py)."""

import pytest

from tests.conftest import SESSION_COOKIE

pytestmark = pytest.mark.django_db


class TestInspector:
    def test_anonymous_visitor_sees_no_session_and_gets_none(self, client):
        response = client.get("/session/")
        assert "No session." in response.content.decode()
        assert SESSION_COOKIE not in response.cookies

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
        assert signed_in.cookies[SESSION_COOKIE].value not in page

    def test_guest_sees_the_persistent_cookie_and_cart_key(self, client, product):
        client.post("/cart/add/", {"product": product.pk})
        page = client.get("/session/").content.decode()
        assert "Guest session." in page and "persistent cookie" in page and "cart_id" in page

    def test_it_explains_the_two_cookies_against_the_classic_advice(self, client, product, settings):
        client.post("/cart/add/", {"product": product.pk})
        page = client.get("/session/").content.decode()
        assert "SameSite=Lax" in page and "<code>sessionid_same_site</code>; HttpOnly; SameSite=Strict" in page
        assert "Set-Cookie: sessionId=…; HttpOnly; Secure; SameSite=Strict" in page
        settings.SESSION_COOKIE_SAMESITE = "Strict"
        page = client.get("/session/").content.decode()
        assert "SameSite=Strict (not sent on requests from other sites)" in page and "sessionid_same_site" not in page
