"""The session engine: Django's db backend on accounts.Session, with metadata."""

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Session, hash_key
from accounts.sessions.store import SessionStore
from tests.conftest import SESSION_COOKIE
from tests.factories import CartItemFactory, SessionFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_engine_is_the_projects_store():
    assert settings.SESSION_ENGINE == "accounts.sessions.store"
    assert SessionStore.get_model_class() is Session


def test_keys_are_long_and_random():
    keys = set()
    for _ in range(20):
        store = SessionStore(ip="192.0.2.1", user_agent="pytest")
        store["k"] = 1
        store.save()
        keys.add(store.session_key)
    # 32 characters of [a-z0-9] from a CSPRNG: about 165 bits (ASVS V7.2.3).
    assert len(keys) == 20 and all(len(key) == 32 for key in keys)


def test_save_records_ip_user_agent_and_user():
    user = UserFactory()
    store = SessionStore(ip="192.0.2.1", user_agent="Firefox")
    store["_auth_user_id"] = str(user.pk)
    store.save()
    row = Session.objects.get(session_key=hash_key(store.session_key))
    assert (row.user, row.ip, row.user_agent) == (user, "192.0.2.1", "Firefox")


def test_cycle_key_carries_data_and_metadata_and_kills_the_old_key():
    store = SessionStore(ip="192.0.2.1", user_agent="Firefox")
    store["cart_id"] = 7
    store.save()
    old_key, first = store.session_key, Session.objects.get()
    reloaded = SessionStore(old_key, ip="192.0.2.1", user_agent="Firefox")
    reloaded.cycle_key()
    row = Session.objects.get()
    assert row.session_key != hash_key(old_key)
    assert (row.public_id, row.created_at) == (first.public_id, first.created_at)
    assert row.get_decoded()["cart_id"] == 7
    assert SessionStore(old_key).load() == {}


def test_flush_starts_a_new_session_not_the_old_one_renamed():
    store = SessionStore(ip="192.0.2.1", user_agent="Firefox")
    store["x"] = 1
    store.save()
    public_id = store.public_id
    store.flush()
    store["y"] = 2
    store.save()
    assert Session.objects.get().public_id != public_id


def test_an_unknown_key_is_never_adopted():
    store = SessionStore("attackerchosenkey0000000000000000")
    store["x"] = 1
    store.save()
    assert store.session_key != "attackerchosenkey0000000000000000"


def test_async_methods_record_metadata_too():
    store = SessionStore(ip="192.0.2.9", user_agent="Async")
    store["x"] = 1
    async_to_sync(store.asave)()
    row = Session.objects.get(session_key=hash_key(store.session_key))
    assert (row.ip, row.user_agent) == ("192.0.2.9", "Async")
    assert async_to_sync(SessionStore(store.session_key).aload)() == {"x": 1}
    async_to_sync(store.acycle_key)()
    assert Session.objects.get().public_id == row.public_id


def test_expired_session_is_not_loaded():
    SessionFactory(key="e" * 32, expire_date=timezone.now() - timezone.timedelta(seconds=1))
    assert SessionStore("e" * 32).load() == {}


def test_djangos_clearsessions_works_on_the_engine():
    SessionFactory(expire_date=timezone.now() - timezone.timedelta(days=1))
    live = SessionFactory()
    call_command("clearsessions")
    assert list(Session.objects.all()) == [live]


def test_query_parameter_is_not_a_session_key(client):
    live = SessionStore(ip="127.0.0.1", user_agent="")
    live["cart_id"] = CartItemFactory(quantity=3).cart_id
    live.save()
    response = client.get(f"/cart/summary/?sessionid={live.session_key}")
    assert response.json()["count"] == 0
    assert SESSION_COOKIE not in response.cookies
    client.cookies[SESSION_COOKIE] = live.session_key
    assert client.get("/cart/summary/").json()["count"] == 3  # the same key as a cookie works


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("django.contrib.auth.backends.ModelBackend", "accounts.backends.ModelBackend"),
        ("django_otp_webauthn.backends.WebAuthnBackend", "accounts.backends.WebAuthnBackend"),
    ],
)
def test_a_session_signed_in_before_the_project_backends_stays_signed_in(client, before, after):
    """Sessions from the release before accounts.backends name Django's backends: the upgrade signs nobody out."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    user = UserFactory(username="olga")
    old = SessionStore(user_agent="ShopdemoTests/1.0")
    old.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: before, HASH_SESSION_KEY: user.get_session_auth_hash()})
    old.create()
    client.cookies[SESSION_COOKIE] = old.session_key
    page = client.get("/cart/", HTTP_USER_AGENT="ShopdemoTests/1.0").content.decode()
    assert "<strong>olga</strong>" in page
    live = Session.objects.get(user=user, successor_key__isnull=True)  # (its key may have been rotated)
    assert live.get_decoded()[BACKEND_SESSION_KEY] == after
