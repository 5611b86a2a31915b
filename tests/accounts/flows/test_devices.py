"""The devices page: listing, revoking, signing out elsewhere, password change."""

import pytest
from django.test import Client

from accounts.flows.sessions import sessions_end
from accounts.models import Session, hash_key
from tests.conftest import SESSION_COOKIE, confirm_it_is_me, is_signed_in, sign_in
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

CHROME_ON_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
)


class TestDevices:
    def test_devices_page_lists_sessions_and_marks_this_one(self, signed_in, user):
        laptop = Client(HTTP_USER_AGENT=CHROME_ON_LINUX)
        sign_in(laptop, remember=True)
        page = signed_in.get("/accounts/sessions/").content.decode()
        assert page.count('data-testid="device-') == 2
        assert page.count("this device") == 1
        assert "Chrome 156 on Linux" in page and "yes (remember me)" in page
        for row in Session.objects.all():
            assert row.session_key not in page

    def test_revoking_another_session_signs_that_browser_out(self, signed_in):
        phone = Client()
        sign_in(phone)
        phone_id = Session.objects.get(session_key=hash_key(phone.cookies[SESSION_COOKIE].value)).public_id
        confirm_it_is_me(signed_in)
        response = signed_in.post(f"/accounts/sessions/{phone_id}/revoke/")
        assert response["Location"] == "/accounts/sessions/"
        assert not is_signed_in(phone)
        assert is_signed_in(signed_in)

    def test_another_users_session_cannot_be_revoked(self, signed_in):
        UserFactory(username="bob")
        bob = Client()
        sign_in(bob, "bob")
        bob_id = Session.objects.get(user__username="bob").public_id
        confirm_it_is_me(signed_in)
        assert signed_in.post(f"/accounts/sessions/{bob_id}/revoke/").status_code == 404
        assert is_signed_in(bob)

    def test_sign_out_all_other_devices(self, signed_in):
        others = [Client() for _ in range(2)]
        for other in others:
            sign_in(other)
        confirm_it_is_me(signed_in)
        response = signed_in.post("/accounts/sessions/revoke-others/")
        assert response.status_code == 302
        assert not any(is_signed_in(other) for other in others)
        assert is_signed_in(signed_in)

    def test_password_change_ends_other_sessions_and_renews_this_key(self, signed_in, user):
        other = Client()
        sign_in(other)
        confirm_it_is_me(signed_in)
        key = signed_in.cookies[SESSION_COOKIE].value
        response = signed_in.post(
            "/accounts/password/",
            {
                "old_password": PASSWORD,
                "new_password1": "another-long-passphrase",
                "new_password2": "another-long-passphrase",
            },
        )
        assert response["Location"] == "/accounts/sessions/"
        assert signed_in.cookies[SESSION_COOKIE].value != key
        assert "Password changed. Signed out 1 other session." in [
            str(m) for m in signed_in.get("/").context["messages"]
        ]
        assert is_signed_in(signed_in)
        assert not is_signed_in(other)

    def test_password_change_needs_the_current_password(self, signed_in):
        confirm_it_is_me(signed_in)
        response = signed_in.post(
            "/accounts/password/",
            {
                "old_password": "wrong",
                "new_password1": "another-long-passphrase",
                "new_password2": "another-long-passphrase",
            },
        )
        assert response.status_code == 400
        assert "Your old password was entered incorrectly" in response.content.decode()

    def test_deactivating_a_user_ends_all_their_sessions(self, signed_in, user):
        user.is_active = False
        user.save()
        assert not Session.objects.filter(user=user).exists()
        assert not is_signed_in(signed_in)


class TestSignedOutElsewhereToldHere:
    """The device signed out by another is told so on its next page, once."""

    @pytest.mark.parametrize(
        ("end_it", "words"),
        [
            ("revoke", "You were signed out from another tab or device."),
            ("revoke-others", "You were signed out from another tab or device."),
            ("password", "your password was changed on another device"),
        ],
    )
    def test_the_next_page_says_so(self, signed_in, end_it, words):
        phone = Client()
        sign_in(phone)
        phone_id = Session.objects.get(session_key=hash_key(phone.cookies[SESSION_COOKIE].value)).public_id
        confirm_it_is_me(signed_in)  # ending sessions and changing the password ask for it every time
        if end_it == "revoke":
            signed_in.post(f"/accounts/sessions/{phone_id}/revoke/")
        elif end_it == "revoke-others":
            signed_in.post("/accounts/sessions/revoke-others/")
        else:
            new = "An0ther-l0ng-passphrase"
            data = {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
            assert signed_in.post("/accounts/password/", data).status_code == 302
        response = phone.get("/orders/")
        assert response["Location"].startswith("/accounts/login/?ended=")
        assert words in phone.get(response["Location"]).content.decode()
        assert phone.get("/orders/")["Location"] == "/accounts/login/?next=/orders/"  # once

    def test_the_staff_ending_it_says_so(self, user, signed_in):
        sessions_end(user.sessions.all(), reason="ended_by_staff")
        response = signed_in.get("/cart/", follow=True)
        assert "You were signed out by the shop&#x27;s staff." in response.content.decode()

    def test_the_idle_warnings_poll_is_told_too_and_its_page_says_it(self, signed_in):
        other = Client()
        sign_in(other)
        confirm_it_is_me(other)
        other.post("/accounts/sessions/revoke-others/")
        poll = signed_in.get("/accounts/session/status/", headers={"Accept": "application/json"})
        assert poll.json()["authenticated"] is False and poll.json()["ended"] == "revoked"
        # static/js/session-timeout.js goes to the sign-in page with that reason
        page = signed_in.get("/accounts/login/?ended=revoked").content.decode()
        assert "You were signed out from another tab or device." in page

    def test_a_key_never_ended_elsewhere_is_just_unknown(self, client):
        client.cookies[SESSION_COOKIE] = "x" * 32
        assert client.get("/cart/").status_code == 200
