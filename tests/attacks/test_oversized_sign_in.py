"""Over-long input at sign-in: a username past any column, a password of megabytes.

The attacker has only the sign-in form, and a script that sends what no browser
would: a username longer than the 150 characters auth_user holds (django-axes
stores it in varchar(255), which PostgreSQL refuses with an error), or a password
that takes the server seconds to hash. Either is a recorded failure, cut to what
the trail holds, before axes, the audit trail or a hasher sees it: the form
again, never a 500, and the owner's account unharmed. Run on PostgreSQL too
(`make test-postgres`): there a stored over-long name is the 500.
"""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.hashers import MD5PasswordHasher

from accounts.forms import PASSWORD_MAX_LENGTH, USERNAME_MAX_LENGTH
from accounts.models import AuditEvent
from tests.conftest import is_signed_in, sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

SAME_WORDS = "Please enter a correct username and password"


@pytest.fixture
def hashings(monkeypatch):
    """How many passwords the server hashed (the test suite's MD5 hasher, still doing its work)."""
    calls = []
    encode = MD5PasswordHasher.encode

    def counted(self, password, salt):
        calls.append(len(password))
        return encode(self, password, salt)

    monkeypatch.setattr(MD5PasswordHasher, "encode", counted)
    return calls


@pytest.mark.parametrize("length", [USERNAME_MAX_LENGTH + 1, 256, 5000])
def test_an_over_long_username_is_refused_with_a_message_and_recorded(client, length):
    response = client.post("/accounts/login/", {"username": "u" * length, "password": "whatever"})
    assert response.status_code == 200
    assert SAME_WORDS in response.content.decode()
    [failure] = AuditEvent.objects.filter(event="authn_login_fail")
    assert failure.username == "u" * USERNAME_MAX_LENGTH  # as typed, cut to what the trail holds
    [attempt] = AccessAttempt.objects.all()  # axes' varchar(255): PostgreSQL's 500 if stored whole
    assert attempt.username == "u" * USERNAME_MAX_LENGTH


def test_over_long_usernames_still_count_toward_the_lockout(client, user):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post("/accounts/login/", {"username": "alice" + "x" * 5000, "password": "x"})
    assert response.status_code == 429
    assert AccessAttempt.objects.get().failures_since_start == settings.AXES_FAILURE_LIMIT


def test_an_over_long_password_is_refused_without_hashing_it(client, user, hashings):
    response = client.post("/accounts/login/", {"username": "alice", "password": "p" * 10_000})
    assert response.status_code == 200 and SAME_WORDS in response.content.decode()
    assert AuditEvent.objects.filter(event="authn_login_fail", username="alice").exists()
    assert not [length for length in hashings if length > PASSWORD_MAX_LENGTH]
    assert sign_in(client).status_code == 302 and is_signed_in(client)  # the owner's password still works


def test_a_megabyte_password_at_re_authentication_is_a_counted_failure_never_hashed(signed_in, user, hashings, clock):
    clock.shift(settings.REAUTH_WINDOW + 1)
    response = signed_in.post("/accounts/reauth/", {"password": "p" * 1_000_000, "next": "/accounts/"})
    assert response.status_code == 200 and "That is not your password." in response.content.decode()
    assert not [length for length in hashings if length > PASSWORD_MAX_LENGTH]
    assert AuditEvent.objects.filter(event="authn_login_fail", username="alice").count() == 1
    assert is_signed_in(signed_in)
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_a_password_of_exactly_the_limit_is_still_checked(client, user, hashings):
    response = client.post("/accounts/login/", {"username": "alice", "password": "p" * PASSWORD_MAX_LENGTH})
    assert SAME_WORDS in response.content.decode()
    assert PASSWORD_MAX_LENGTH in hashings  # checked (and refused) like any other guess
