"""SESSION_CACHED: copies of the user beside the session table (shopdemo.cache), and everything still ends on time."""

import pytest
from asgiref.sync import async_to_sync
from django.core.cache import cache, caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.backends import load_user
from accounts.models import hash_key
from accounts.sessions.store import SessionStore
from tests.conftest import SESSION_COOKIE, selects_of, sign_in

pytestmark = pytest.mark.django_db

SIGNED_IN = "Signed in as"


@pytest.fixture(autouse=True)
def copies_on(cached_variant):
    """Every test here runs the cached variant."""


def test_signed_in_pages_read_the_session_from_the_table_and_the_user_from_the_cache(client, user):
    sign_in(client)
    client.get("/")
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/").content.decode()
    assert SIGNED_IN in page
    # The table decides whether a session lives (ended means ended, whatever the cache holds).
    assert len(selects_of("accounts_session", queries.captured_queries)) == 1
    assert selects_of("auth_user", queries.captured_queries) == []
    assert cache.get("shopdemo.session." + hash_key(client.cookies[SESSION_COOKIE].value)) is None
    assert cache.get(f"shopdemo.user.{user.pk}")["value"]["username"] == "alice"


def test_a_changed_user_is_read_afresh_at_the_next_request(client, user):
    sign_in(client)
    client.get("/")  # the user's row is now copied
    user.username = "alice.b"
    user.save()
    assert "<strong>alice.b</strong>" in client.get("/").content.decode()


def test_staff_rights_taken_away_end_at_the_next_request(client, user):
    user.is_staff = user.is_superuser = True
    user.save()
    sign_in(client)
    client.get("/")
    user.is_staff = False
    user.save()
    assert client.get("/admin/").status_code == 302  # to the sign-in page, not the console


def test_a_deleted_user_is_signed_out(client, user):
    sign_in(client)
    client.get("/")
    user.delete()  # the session rows go by cascade
    assert SIGNED_IN not in client.get("/").content.decode()


def test_permissions_are_never_copied(user):
    from django.contrib.auth.models import Permission

    assert not load_user(user.pk).has_perm("cart.change_product")  # fills the copy and the perm cache
    user.user_permissions.add(Permission.objects.get(codename="change_product"))  # no user save: the copy stays
    assert cache.get(f"shopdemo.user.{user.pk}") is not None
    assert load_user(user.pk).has_perm("cart.change_product")


def test_a_cache_miss_falls_back_to_the_table(client, user):
    sign_in(client)
    cache.clear()
    assert SIGNED_IN in client.get("/").content.decode()


def test_idle_timeout_and_rotation_hold_with_the_cache(client, user, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    sign_in(client)
    old_key = client.cookies[SESSION_COOKIE].value
    time_machine.shift(15 * 60)
    client.get("/")
    assert client.cookies[SESSION_COOKIE].value != old_key
    stale = Client()
    stale.cookies[SESSION_COOKIE] = old_key
    time_machine.shift(31)
    assert SIGNED_IN not in stale.get("/").content.decode()
    time_machine.shift(31 * 60 + 1)
    assert SIGNED_IN not in client.get("/", follow=True).content.decode()


class TestAsyncTwins:
    """What alogout() and async views run must go through the cache too."""

    @pytest.fixture
    def cached_signed_in(self, client, user):
        sign_in(client)
        assert SIGNED_IN in client.get("/").content.decode()  # the row is now cached
        return client.cookies[SESSION_COOKIE].value

    @pytest.mark.parametrize("method", ["adelete", "aflush", "acycle_key"])
    def test_the_old_key_stops_working_after_an_async_key_change(self, cached_signed_in, method):
        store = SessionStore(cached_signed_in)
        async_to_sync(store.aload)()
        async_to_sync(getattr(store, method))()
        replay = Client()
        replay.cookies[SESSION_COOKIE] = cached_signed_in
        assert SIGNED_IN not in replay.get("/").content.decode()

    def test_asave_is_seen_by_the_next_load(self, cached_signed_in):
        store = SessionStore(cached_signed_in)
        async_to_sync(store.aset)("note", "fresh")
        async_to_sync(store.asave)()
        assert SessionStore(cached_signed_in).load()["note"] == "fresh"


def test_the_copies_live_in_the_copies_alias(settings, client, user):
    settings.CACHES = {
        **settings.CACHES,
        "copies": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "copies"},
    }
    sign_in(client)
    client.get("/")
    client.get("/")
    key = f"shopdemo.user.{user.pk}"
    assert caches["copies"].get(key) is not None
    assert cache.get(key) is None
