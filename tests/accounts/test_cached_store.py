"""SESSION_CACHED: the cache in front of the same table, and everything still ends on time."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Session
from tests.conftest import SESSION_COOKIE, sign_in

pytestmark = pytest.mark.django_db

SIGNED_IN = "Signed in as"


@pytest.fixture(autouse=True)
def cached_engine(settings):
    settings.SESSION_ENGINE = "accounts.sessions.cached_store"


def session_selects(queries):
    return [q for q in queries if q["sql"].startswith("SELECT") and "accounts_session" in q["sql"]]


def test_signed_in_pages_read_the_session_from_the_cache(client, user):
    sign_in(client)
    client.get("/")
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/").content.decode()
    assert SIGNED_IN in page
    assert session_selects(queries.captured_queries) == []
    assert cache.get("shopdemo.session." + client.cookies[SESSION_COOKIE].value)["user_id"] == user.pk


def test_a_cache_miss_falls_back_to_the_table(client, user):
    sign_in(client)
    cache.clear()
    assert SIGNED_IN in client.get("/").content.decode()


def test_revoked_session_is_forgotten_by_the_cache(client, user):
    other = Client()
    sign_in(other)
    other.get("/")  # now cached
    sign_in(client)
    other_id = Session.objects.get(session_key=other.cookies[SESSION_COOKIE].value).public_id
    client.post(f"/accounts/sessions/{other_id}/revoke/")
    assert SIGNED_IN not in other.get("/").content.decode()


def test_sign_out_is_not_undone_by_the_cache(client, user):
    sign_in(client)
    key = client.cookies[SESSION_COOKIE].value
    client.post("/accounts/logout/")
    replay = Client()
    replay.cookies[SESSION_COOKIE] = key
    assert SIGNED_IN not in replay.get("/").content.decode()


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
