"""A session ended while one of its requests runs, coming back under a new key.

The attacker is a thief whose copied cookie has a request in flight when the owner
ends the session: sign-out in another tab, "sign out other devices", staff's "End
sessions", a password change. Django would save such a session as a brand-new one
(a fresh key, fresh timeouts), most likely when the request is due to rotate. Each
test holds the thief's request after its session has loaded and before its view runs
(the innermost middleware below), ends the session from another client, and lets the
request finish: it must answer signed out, with only the deletion cookie, and leave
no row behind, on both engines (the cached one on a real Redis).
"""

import pytest
from django.test import Client

from accounts.models import Session, hash_key
from accounts.sessions import policy as session_policy
from accounts.sessions.store import engine_store
from tests.conftest import SESSION_COOKIE, confirm_it_is_me, is_signed_in, sign_in
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ROTATION_DUE = 15 * 60
ACTIVITY_DUE = 61  # past the activity granularity (60 s), long before rotation
HOLD = []  # what the held request lets happen before its view runs


class HoldBeforeTheView:
    """Innermost middleware: the session has loaded; run what HOLD asks, then the view."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        while HOLD:
            HOLD.pop()()
        return self.get_response(request)


@pytest.fixture(params=["db", "cached"])
def engine(request, settings):
    """Both engines; the cached one on a real Redis, as the cluster runs it."""
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.HoldBeforeTheView"]
    if request.param == "cached":
        request.getfixturevalue("redis_cache")
        request.getfixturevalue("cached_variant")
    yield request.param
    HOLD.clear()


@pytest.fixture
def device_x(engine, user, clock):
    client = Client()
    sign_in(client)
    return client


def other_tab(of: Client) -> Client:
    """Another tab of the same browser: the same cookies."""
    tab = Client()
    for name, morsel in of.cookies.items():
        tab.cookies[name] = morsel.value
    return tab


def second_device() -> Client:
    device = Client()
    sign_in(device)
    return device


def public_id_of(client: Client) -> str:
    return Session.objects.get(session_key=hash_key(client.cookies[SESSION_COOKIE].value)).public_id


def assert_ended_for_good(response, client: Client, public_id: str) -> None:
    """Signed out: only the deletion cookie, no row of the session, the old cookie refused."""
    cookie = response.cookies[SESSION_COOKIE]
    assert cookie.value == "" and cookie["max-age"] == 0
    assert not Session.objects.filter(public_id=public_id).exists()
    assert not is_signed_in(client)
    assert not Session.objects.filter(public_id=public_id).exists()  # and that request made none either


def sign_out_in(tab: Client):
    return lambda: tab.post("/accounts/logout/")


def revoke_others_from(device: Client):
    confirm_it_is_me(device)  # ending other sessions asks for the password every time
    return lambda: device.post("/accounts/sessions/revoke-others/")


def staff_ends(public_id: str):
    staff = Client()
    staff.force_login(UserFactory(username="staffer", is_staff=True, is_superuser=True))
    return lambda: staff.post("/admin/accounts/session/", {"action": "end_sessions", "_selected_action": [public_id]})


def password_change_from(device: Client):
    form = {"old_password": PASSWORD, "new_password1": "another-passphrase", "new_password2": "another-passphrase"}
    confirm_it_is_me(device)  # a password change asks for the password every time
    return lambda: device.post("/accounts/password/", form)


@pytest.mark.parametrize("ender", ["sign-out in another tab", "revoke others", "staff", "password change"])
def test_a_request_due_to_rotate_answers_signed_out_when_its_session_ends_meanwhile(device_x, clock, ender):
    public_id = public_id_of(device_x)
    old_key = device_x.cookies[SESSION_COOKIE].value
    clock.shift(ROTATION_DUE)
    end = {
        "sign-out in another tab": lambda: sign_out_in(other_tab(device_x)),
        "revoke others": lambda: revoke_others_from(second_device()),
        "staff": lambda: staff_ends(public_id),
        "password change": lambda: password_change_from(second_device()),
    }[ender]()
    HOLD.append(end)
    response = device_x.get("/orders/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")  # a password change: Django's own check says so
    assert_ended_for_good(response, device_x, public_id)
    replay = Client()
    replay.cookies[SESSION_COOKIE] = old_key
    assert not is_signed_in(replay)


def test_the_sign_in_page_says_why(device_x, clock):
    clock.shift(ROTATION_DUE)
    HOLD.append(sign_out_in(other_tab(device_x)))
    response = device_x.get("/orders/")
    assert response["Location"] == f"/accounts/login/?ended={session_policy.REVOKED}&next=%2Forders%2F"
    page = device_x.get(response["Location"]).content.decode()
    assert "You were signed out from another tab or device." in page


def test_an_activity_stamp_does_not_bring_it_back(device_x, clock):
    public_id = public_id_of(device_x)
    clock.shift(ACTIVITY_DUE)
    HOLD.append(revoke_others_from(second_device()))
    assert_ended_for_good(device_x.get("/cart/"), device_x, public_id)


def test_a_json_call_keeps_its_answer_but_loses_the_session(device_x, clock):
    public_id = public_id_of(device_x)
    clock.shift(ROTATION_DUE)
    HOLD.append(sign_out_in(other_tab(device_x)))
    response = device_x.get("/cart/summary/", headers={"Accept": "application/json"})
    assert response.json()["count"] == 0
    assert_ended_for_good(response, device_x, public_id)


def test_a_re_authentication_does_not_bring_it_back(device_x):
    public_id = public_id_of(device_x)
    HOLD.append(revoke_others_from(second_device()))
    response = device_x.post("/accounts/reauth/", {"password": PASSWORD, "next": "/orders/"})
    assert_ended_for_good(response, device_x, public_id)


def test_extending_the_session_does_not_bring_it_back(device_x):
    public_id = public_id_of(device_x)
    HOLD.append(sign_out_in(other_tab(device_x)))
    response = device_x.post("/accounts/session/extend/", headers={"Accept": "application/json"})
    assert_ended_for_good(response, device_x, public_id)


def test_a_session_nobody_ended_still_rotates(device_x, clock):
    old_key = device_x.cookies[SESSION_COOKIE].value
    clock.shift(ROTATION_DUE)
    HOLD.append(lambda: second_device())  # something else happens meanwhile, but no ending
    response = device_x.get("/orders/")
    assert response.status_code == 200
    assert response.cookies[SESSION_COOKIE].value not in ("", old_key)
    assert is_signed_in(device_x)


def test_ended_between_its_rotation_and_the_responses_save(device_x, clock, monkeypatch):
    """The successor row was made and the old one claimed; then revoke-others deletes both."""
    public_id = public_id_of(device_x)
    clock.shift(ROTATION_DUE)
    store = engine_store()
    rotate, revoke = store.rotate, revoke_others_from(second_device())

    def rotate_then_revoke(self, *, grace):
        rotate(self, grace=grace)
        assert Session.objects.filter(public_id=public_id).count() == 2  # the old key's row and its successor
        revoke()

    monkeypatch.setattr(store, "rotate", rotate_then_revoke)
    assert_ended_for_good(device_x.get("/orders/"), device_x, public_id)
