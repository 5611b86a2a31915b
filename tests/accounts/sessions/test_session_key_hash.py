"""The upgrade to hashed keys hashes existing rows in place (tests/attacks/test_stolen_session_table.py: the attack)."""

import re

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from accounts.models import Session
from accounts.sessions.store import SessionStore
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BEFORE, AFTER = ("accounts", "0003_email_state"), ("accounts", "0004_session_key_hash")


def every_stored_value() -> str:
    """Everything the sessions table holds, as one string: what a database dump would show."""
    return " ".join(str(value) for row in Session.objects.values() for value in row.values())


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
