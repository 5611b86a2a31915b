"""Session-ID rotation on a timer, with its grace (accounts/sessions/store.py, middleware.py)."""

import pytest
from django.test import Client

from accounts.models import Session, hash_key
from tests.conftest import SESSION_COOKIE, is_signed_in

pytestmark = pytest.mark.django_db

SIGNED_IN = "Signed in as"


class TestRotation:
    def test_key_rotates_after_the_interval_and_data_follows(self, signed_in, clock, product):
        signed_in.post("/cart/add/", {"product": product.pk})
        old_key = signed_in.cookies[SESSION_COOKIE].value
        public_id = Session.objects.get(session_key=hash_key(old_key)).public_id
        clock.shift(15 * 60)
        response = signed_in.get("/")
        new_key = response.cookies[SESSION_COOKIE].value
        assert new_key != old_key
        row = Session.objects.get(session_key=hash_key(new_key))
        assert row.public_id == public_id and row.user.username == "alice"
        assert signed_in.get("/cart/summary/").json()["count"] == 1

    def test_old_key_works_during_the_grace_and_is_refused_after(self, signed_in, clock):
        old_key = signed_in.cookies[SESSION_COOKIE].value
        clock.shift(15 * 60)
        new_key = signed_in.get("/").cookies[SESSION_COOKIE].value
        in_flight = Client()
        in_flight.cookies[SESSION_COOKIE] = old_key
        clock.shift(29)
        response = in_flight.get("/")
        assert SIGNED_IN in response.content.decode()
        assert response.cookies[SESSION_COOKIE].value == new_key  # the straggler is moved to the new key
        late = Client()
        late.cookies[SESSION_COOKIE] = old_key
        clock.shift(2)
        assert not is_signed_in(late)
        assert is_signed_in(signed_in)

    def test_tabs_holding_the_old_key_after_a_rotation_are_served_by_one_successor(self, signed_in, clock):
        old_key = signed_in.cookies[SESSION_COOKIE].value
        clock.shift(15 * 60)
        clients = []
        for _ in range(5):
            tab = Client()
            tab.cookies[SESSION_COOKIE] = old_key
            clients.append(tab)
        pages = [tab.get("/cart/").content.decode() for tab in clients]  # each one finds rotation done or due
        assert all(SIGNED_IN in page for page in pages)
        live = Session.objects.filter(successor_key__isnull=True)
        assert live.count() == 1  # one successor, not a fork per request

    def test_rotation_at_sign_out_leaves_no_grace(self, signed_in):
        key = signed_in.cookies[SESSION_COOKIE].value
        signed_in.post("/accounts/logout/")
        replay = Client()
        replay.cookies[SESSION_COOKIE] = key
        assert not is_signed_in(replay)
