"""Guessing a password online: at sign-in, or from a stolen session at re-authentication and the password form.

The attacker has a list of likely passwords and, for the last two, a session
cookie copied from the owner (signed in, no password known). Every check goes
through django-axes (`check_password_counted`): each guess is an
`authn_login_fail`, and AXES_FAILURE_LIMIT of them lock the username from that
address, even for the right password. The owner's password and other sessions
stay as they were.
"""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEvent, Session
from tests.conftest import confirm_it_is_me, is_signed_in, sign_in
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SAME_WORDS = "Please enter a correct username and password."
NEW_PASSWORD = "a-brand-new-passphrase-7"


def guess(client, username, times, **extra):
    """`times` wrong passwords at the sign-in form; the last answer."""
    for n in range(times):
        response = client.post("/accounts/login/", {"username": username, "password": f"guess-{n}"}, **extra)
    return response


def guess_old_password(client, old):
    return client.post(
        "/accounts/password/", {"old_password": old, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )


@pytest.fixture
def owner_elsewhere(user):
    """alice, signed in on her own device from her own address."""
    device = Client(REMOTE_ADDR="192.0.2.10")
    sign_in(device, REMOTE_ADDR="192.0.2.10")
    assert is_signed_in(device)
    return device


# Sign-in.


def test_failures_say_the_same_words_for_known_unknown_and_inactive_users(client):
    UserFactory(username="sleeper", is_active=False)
    UserFactory(username="bob")
    pages = {name: guess(client, name, 1) for name in ["bob", "nobody", "sleeper"]}
    inactive_with_right_password = sign_in(client, "sleeper", "correct-horse-battery-9")
    for response in [*pages.values(), inactive_with_right_password]:
        assert response.status_code == 200
        assert SAME_WORDS in response.content.decode()


@pytest.mark.parametrize("username", ["alice", "nobody-by-this-name"])
def test_lockout_after_the_failure_limit_is_429_for_known_and_unknown(client, user, username, password):
    response = guess(client, username, settings.AXES_FAILURE_LIMIT)
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "15 minutes" in response.content.decode()
    # Even the right password is refused while locked.
    locked = sign_in(client, username, password)
    assert locked.status_code == 429
    assert not Session.objects.exists()


def test_the_guesser_locks_only_itself_out_and_the_owner_stays_signed_in(client, owner_elsewhere, user, password):
    guess(client, "alice", settings.AXES_FAILURE_LIMIT)
    assert sign_in(client).status_code == 429
    assert is_signed_in(owner_elsewhere)
    assert sign_in(Client(), REMOTE_ADDR="10.9.9.9").status_code == 302  # the owner, from another address
    bob = UserFactory(username="bob")
    assert sign_in(client, bob.username, password).status_code == 302
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


@pytest.mark.parametrize(("minutes_later", "status"), [(14, 429), (15.1, 302)])
def test_lock_expires_on_its_own_after_the_cooloff(client, user, time_machine, minutes_later, status):
    time_machine.move_to(timezone.now(), tick=False)
    guess(client, "alice", settings.AXES_FAILURE_LIMIT)
    time_machine.shift(minutes_later * 60)
    assert sign_in(client).status_code == status


def test_every_attempt_is_recorded(client, user):
    guess(client, "alice", 2)
    assert AccessAttempt.objects.get(username="alice").failures_since_start == 2


def test_forged_forwarded_for_does_not_dodge_the_counter(client, user):
    for n in range(settings.AXES_FAILURE_LIMIT):
        response = sign_in(client, "alice", password="wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    assert response.status_code == 429


def test_trusted_proxy_hop_is_the_client_address(client, user, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    guess(client, "alice", settings.AXES_FAILURE_LIMIT, HTTP_X_FORWARDED_FOR="203.0.113.7, 198.51.100.1")
    assert AccessAttempt.objects.get().ip_address == "198.51.100.1"


# A stolen session: re-authentication and the password form.


def test_guessing_at_re_authentication_is_counted_and_locks(signed_in, owner_elsewhere, user, clock):
    clock.shift(settings.REAUTH_WINDOW + 1)
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        response = signed_in.post("/accounts/reauth/", {"password": f"guess-{n}", "next": "/accounts/password/"})
        assert response.status_code == 200 and "That is not your password." in response.content.decode()
    last = signed_in.post("/accounts/reauth/", {"password": "guess-last", "next": "/accounts/password/"})
    assert last.status_code == 429
    assert AuditEvent.objects.filter(event="authn_login_fail", username="alice").count() == settings.AXES_FAILURE_LIMIT
    right = signed_in.post("/accounts/reauth/", {"password": PASSWORD, "next": "/accounts/password/"})
    assert right.status_code == 429  # the right one, too late
    assert is_signed_in(owner_elsewhere)


def test_a_wrong_old_password_is_a_recorded_sign_in_failure(signed_in, user):
    confirm_it_is_me(signed_in)
    response = guess_old_password(signed_in, "guess-1")
    assert response.status_code == 400 and "incorrect" in response.content.decode()
    assert AuditEvent.objects.filter(event="authn_login_fail", username="alice").count() == 1


def test_guessing_the_old_password_locks_the_account_like_sign_in(signed_in, owner_elsewhere, user):
    """Decision: the old-password field stays (V6.2.3) and is checked like a sign-in (docs/threat-model.md)."""
    confirm_it_is_me(signed_in)
    for n in range(settings.AXES_FAILURE_LIMIT):
        guess_old_password(signed_in, f"guess-{n}")
    response = guess_old_password(signed_in, PASSWORD)  # the right one, too late
    assert response.status_code == 429
    user.refresh_from_db()
    assert user.check_password(PASSWORD) and not user.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(event="authn_login_lock", username="alice").exists()
    assert is_signed_in(owner_elsewhere)
