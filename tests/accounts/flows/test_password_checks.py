"""Every password check counts toward the lockout; over-long input is a 4xx, recorded."""

import pytest

from accounts.models import AuditEvent
from tests.conftest import confirm_it_is_me, sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LIMIT = 5  # AXES_FAILURE_LIMIT's default


def change_password(client, old):
    return client.post(
        "/accounts/password/",
        {"old_password": old, "new_password1": "a-brand-new-passphrase-7", "new_password2": "a-brand-new-passphrase-7"},
    )


class TestOldPasswordField:
    """Decision: the field stays (V6.2.3) and is checked like a sign-in (docs/threat-model.md)."""

    @pytest.fixture
    def changing(self, client, user):
        sign_in(client)
        confirm_it_is_me(client)
        return client

    def test_a_wrong_old_password_is_a_recorded_sign_in_failure(self, changing, user):
        response = change_password(changing, "guess-1")
        assert response.status_code == 400 and "incorrect" in response.content.decode()
        assert AuditEvent.objects.filter(event="authn_login_fail", username="alice").count() == 1

    def test_guessing_the_old_password_locks_the_account_like_sign_in(self, changing, user):
        for n in range(LIMIT):
            change_password(changing, f"guess-{n}")
        response = change_password(changing, PASSWORD)  # the right one, too late
        assert response.status_code == 429
        user.refresh_from_db()
        assert user.check_password(PASSWORD)
        assert AuditEvent.objects.filter(event="authn_login_lock", username="alice").exists()


class TestOverLongSignIn:
    @pytest.mark.parametrize("length", [151, 256, 5000])
    def test_an_over_long_username_is_refused_with_a_message_and_recorded(self, client, length):
        response = client.post("/accounts/login/", {"username": "u" * length, "password": "whatever"})
        assert response.status_code == 200
        assert "Please enter a correct username and password" in response.content.decode()
        [failure] = AuditEvent.objects.filter(event="authn_login_fail")
        assert failure.username == "u" * 150  # as typed, cut to what the trail holds

    def test_an_over_long_password_is_refused_without_hashing_it(self, client, user):
        response = client.post("/accounts/login/", {"username": "alice", "password": "p" * 10_000})
        assert response.status_code == 200
        assert AuditEvent.objects.filter(event="authn_login_fail", username="alice").exists()
