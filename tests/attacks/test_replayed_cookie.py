"""A replayed cookie after sign-out on the cached engine (SESSION_CACHED=true, a real Redis).

The attacker kept a copy of the victim's session cookie (and user agent) from
before the session ended: the victim signed out, revoked that device from the
devices page or with "sign out all other devices", or staff ended it from the
admin. The attacker presents the copy right after, while every copy the cache
made from that session's requests is fresh. The cached engine copies no session
row, so the very next request reads the table and finds nothing: an anonymous
visitor with an empty cart, and the victim's account and cart untouched.
`tests/test_cluster.py` does the same across two servers, Redis frozen meanwhile.
"""

import pytest
from django.test import Client

from accounts.models import Session, hash_key
from tests.conftest import SESSION_COOKIE, confirm_it_is_me, is_signed_in, sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"


@pytest.fixture(autouse=True)
def on_redis(redis_cache, cached_variant):
    """Every test here runs the cached variant on a real Redis."""
    return redis_cache


@pytest.fixture
def victim(on_redis, user, product):
    """alice on her laptop with a line in her cart, the cache warm with her copies; a copy of her cookie."""
    laptop = Client(HTTP_USER_AGENT=BROWSER)
    sign_in(laptop)
    laptop.post("/cart/add/", {"product": product.pk, "quantity": 2})
    for path in ("/", "/cart/", "/cart/summary/"):
        laptop.get(path)
    assert any(b"shopdemo.user." in name for name in on_redis.keys("*"))  # copies are served from Redis
    return laptop, laptop.cookies[SESSION_COOKIE].value


def replay(key: str) -> Client:
    """The attacker's browser: the same user agent, the copied cookie."""
    attacker = Client(HTTP_USER_AGENT=BROWSER)
    attacker.cookies[SESSION_COOKIE] = key
    return attacker


def assert_refused(key: str, user) -> None:
    attacker = replay(key)
    assert not is_signed_in(attacker)
    assert attacker.get("/cart/summary/").json()["count"] == 0
    assert attacker.get("/orders/")["Location"].startswith("/accounts/login/")
    assert not Session.objects.filter(session_key=hash_key(key)).exists()
    # The account and its cart are the victim's still.
    owner = Client(HTTP_USER_AGENT=BROWSER)
    sign_in(owner, user.username)
    assert owner.get("/cart/summary/").json()["count"] == 2


def public_id(key: str) -> str:
    return Session.objects.get(session_key=hash_key(key)).public_id


def test_sign_out_then_the_replayed_cookie_is_anonymous(victim, user):
    laptop, key = victim
    assert is_signed_in(replay(key))  # the copy works while the session lives
    laptop.post("/accounts/logout/")
    assert_refused(key, user)


def test_a_device_revoked_from_the_devices_page_is_refused_at_once(victim, user):
    _, key = victim
    phone = Client(HTTP_USER_AGENT="Phone/1.0")
    sign_in(phone)
    confirm_it_is_me(phone)
    assert phone.post(f"/accounts/sessions/{public_id(key)}/revoke/").status_code == 302
    assert_refused(key, user)
    assert is_signed_in(phone)


def test_sign_out_all_other_devices_refuses_the_copy_at_once(victim, user):
    _, key = victim
    phone = Client(HTTP_USER_AGENT="Phone/1.0")
    sign_in(phone)
    confirm_it_is_me(phone)
    phone.post("/accounts/sessions/revoke-others/")
    assert_refused(key, user)


def test_sessions_ended_by_staff_are_refused_at_once(victim, user):
    _, key = victim
    staff = Client()
    staff.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    answer = staff.post(
        "/admin/accounts/session/", {"action": "end_sessions", "_selected_action": [public_id(key)]}, follow=True
    )
    assert "Ended 1 session." in answer.content.decode()
    assert_refused(key, user)


def test_redis_holds_nothing_that_would_bring_the_session_back(victim, on_redis, user):
    laptop, key = victim
    before = set(on_redis.keys("*"))
    laptop.post("/accounts/logout/")
    assert_refused(key, user)
    # What Redis still holds is the user's and the carts' copies: no session, under its key or its hash.
    names = b" ".join(before | set(on_redis.keys("*")))
    assert b"session" not in names and hash_key(key).encode() not in names and key.encode() not in names
