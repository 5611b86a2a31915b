"""The table, the admin, the cache and the logs hold a hash of each key, never the key."""

import hashlib
import re

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone

from accounts.admin import admin_session_url
from accounts.models import Session
from accounts.sessions.store import SessionStore
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

COOKIE = "sessionid"
SIGNED_IN = "Signed in as"
BEFORE, AFTER = ("accounts", "0003_email_state"), ("accounts", "0004_session_key_hash")


def sha256(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def every_stored_value() -> str:
    """Everything the sessions table holds, as one string: what a database dump would show."""
    return " ".join(str(value) for row in Session.objects.values() for value in row.values())


def test_the_table_holds_a_hash_of_each_key_never_the_key(signed_in):
    key = signed_in.cookies[COOKIE].value
    assert Session.objects.filter(session_key=sha256(key)).exists()
    assert key not in every_stored_value()
    assert SIGNED_IN in signed_in.get("/").content.decode()


def test_a_dumped_hash_signs_nobody_in(signed_in):
    stolen = Client()
    stolen.cookies[COOKIE] = Session.objects.get().session_key
    assert SIGNED_IN not in stolen.get("/").content.decode()


def test_rotation_points_at_the_successors_hash_and_the_old_key_learns_the_new_one(clock):
    store = SessionStore(ip="192.0.2.1", user_agent="Firefox")
    store["_auth_user_id"] = str(UserFactory().pk)
    store.save()
    old_key = store.session_key
    store.rotate(grace=30)
    new_key = store.session_key
    old_row = Session.objects.get(session_key=sha256(old_key))
    assert old_row.successor_key == sha256(new_key)
    assert new_key not in every_stored_value() and old_key not in every_stored_value()
    in_flight = SessionStore(old_key, ip="192.0.2.1", user_agent="Firefox")
    assert in_flight.load()["_auth_user_id"] == store["_auth_user_id"]
    assert in_flight.session_key == new_key and in_flight.rekeyed
    clock.shift(31)
    assert SessionStore(old_key).load() == {}


def test_the_cached_engine_keeps_no_key_in_the_cache(cached_variant, client, user):
    client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    client.get("/")
    key = client.cookies[COOKIE].value
    assert cache.get(f"shopdemo.user.{user.pk}") is not None  # the cache is in use
    dump = " ".join(f"{name} {value!r}" for name, value in cache._cache.items())  # locmem: pickled values
    assert key not in dump and sha256(key) not in dump  # sessions are read from the table only


@pytest.mark.django_db(transaction=True)
def test_existing_rows_are_hashed_in_place_so_nobody_is_signed_out():
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    old = executor.loader.project_state([BEFORE]).apps.get_model("accounts", "Session")
    encode = SessionStore().encode
    user = UserFactory()
    later = timezone.now() + timezone.timedelta(days=1)
    signed_in = {"_auth_user_id": str(user.pk), "_auth_user_backend": "axes.backends.AxesStandaloneBackend"}
    old.objects.create(session_key="a" * 32, session_data=encode({"cart_id": 7}), expire_date=later)
    old.objects.create(session_key="s" * 32, session_data=encode(signed_in), expire_date=later, user_id=user.pk)
    # A key rotated moments before the upgrade: its row points at its successor.
    old.objects.create(session_key="r" * 32, session_data="", expire_date=later, successor_key="s" * 32)

    executor = MigrationExecutor(connection)
    executor.migrate([AFTER])
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert not re.search(r"\b[ars]{32}\b", every_stored_value())
    assert SessionStore("a" * 32).load() == {"cart_id": 7}
    assert SessionStore("s" * 32).load()["_auth_user_id"] == str(user.pk)
    in_flight = SessionStore("r" * 32)
    assert in_flight.load()["_auth_user_id"] == str(user.pk) and in_flight.session_key == "s" * 32


class TestAdminGoesByPublicId:
    @pytest.fixture
    def shopper(self, user):
        shopper = Client()
        shopper.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
        return shopper

    @pytest.fixture
    def viewer(self):
        """A staff member who may only view sessions: what they copy must sign nobody in."""
        staff = UserFactory(username="viewer", is_staff=True)
        staff.user_permissions.add(Permission.objects.get(codename="view_session", content_type__app_label="accounts"))
        client = Client()
        client.force_login(staff)
        return client

    def test_no_admin_page_or_link_carries_the_key_or_its_hash(self, viewer, shopper):
        row = Session.objects.get(user__username="alice")
        key = shopper.cookies[COOKIE].value
        listing = viewer.get("/admin/accounts/session/")
        detail = viewer.get(admin_session_url(row.public_id))
        assert listing.status_code == detail.status_code == 200
        for page in (listing.content.decode(), detail.content.decode()):
            assert key not in page and row.session_key not in page
        assert admin_session_url(row.public_id) in listing.content.decode()

    def test_ending_a_session_from_the_admin_goes_by_public_id(self, client, shopper):
        client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
        row = Session.objects.get(user__username="alice")
        listing = client.get("/admin/accounts/session/").content.decode()
        assert f'value="{row.public_id}"' in listing  # the action checkbox
        assert shopper.cookies[COOKIE].value not in listing and row.session_key not in listing
        response = client.post(
            "/admin/accounts/session/", {"action": "end_sessions", "_selected_action": [row.public_id]}, follow=True
        )
        assert "Ended 1 session." in response.content.decode()
        assert SIGNED_IN not in shopper.get("/").content.decode()

    def test_an_unknown_public_id_is_not_found(self, viewer):
        response = viewer.get("/admin/accounts/session/nosuchsession/change/", follow=True)
        assert b"doesn\xe2\x80\x99t exist" in response.content or response.status_code == 404
