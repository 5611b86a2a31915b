"""Growing a session to megabytes through the POST held for re-authentication.

The attacker has a signed-in session (their own, or a copied cookie) past
REAUTH_WINDOW, and a script. A critical POST is then held in the session while
the password is asked for, to run after it; held as it came, a 2 MB field or
thousands of fields would be stored, sealed, in the row (and the Redis copy) on
every request. At most RESUME_MAX_VALUES values and RESUME_MAX_BYTES are held;
more is refused with 413, nothing is held, and the session keeps working.
"""

import pytest

from accounts.flows.reauth import MSG_TOO_LARGE_TO_HOLD, RESUME_MAX_BYTES, RESUME_MAX_VALUES
from accounts.models import Session
from accounts.sessions.policy import RESUME
from accounts.sessions.store import engine_store
from tests.conftest import SESSION_COOKIE, is_signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def stale(signed_in, clock, settings):
    clock.shift(settings.REAUTH_WINDOW + 1)  # critical POSTs are held for re-authentication
    return signed_in


def held(client):
    """The held POST, as the session's own key opens it (it is sealed in the row)."""
    return engine_store()(client.cookies[SESSION_COOKIE].value).get(RESUME)


def test_a_normal_critical_post_is_held(stale):
    response = stale.post("/accounts/email/", {"email": "alice@new.example"})
    assert "Enter your password to change your email address." in response.content.decode()
    assert held(stale)["data"] == [["email", ["alice@new.example"]]]


def test_a_huge_field_is_refused_with_413_and_not_held(stale, user):
    response = stale.post("/accounts/email/", {"email": "a" * 2_300_000})
    assert response.status_code == 413
    assert MSG_TOO_LARGE_TO_HOLD in response.content.decode()
    assert held(stale) is None
    assert len(Session.objects.get().session_data) < 2000
    assert is_signed_in(stale)
    user.refresh_from_db()
    assert user.email == "alice@example.com"


def test_too_many_fields_are_refused_with_413(stale):
    response = stale.post("/accounts/email/", {f"f{n}": "x" for n in range(RESUME_MAX_VALUES * 2)})
    assert response.status_code == 413 and held(stale) is None


def test_just_over_the_byte_limit_is_refused_and_a_later_normal_post_is_held(stale):
    assert stale.post("/accounts/email/", {"email": "a" * RESUME_MAX_BYTES}).status_code == 413
    assert held(stale) is None
    stale.post("/accounts/email/", {"email": "alice@new.example"})
    assert held(stale)["data"] == [["email", ["alice@new.example"]]]
