"""A database dump, a backup, the cache or the logs used to sign in.

The attacker has a copy of `accounts_session` (every column, a rotated key's row
with its successor's hash and seal among them), the audit table, every log line the
site wrote, or what Redis holds on the cached variant; not SECRET_KEY and not a
cookie. They present every string found there as a session cookie. The table keeps
only SHA-256 of each key and seals a successor's key with the old key, so nothing
found signs anyone in, and the victim stays signed in.
"""

import hashlib
import json
import logging
import re

import pytest
from django.test import Client

from accounts.models import AuditEvent, Session
from accounts.sessions.store import unseal
from tests.conftest import SESSION_COOKIE, is_signed_in, sign_in

pytestmark = pytest.mark.django_db

ROTATION_DUE = 15 * 60
# What a session cookie could be: Django's keys are 32 lowercase letters and digits;
# the attacker tries every run of 20 or more such characters, hashes and seals included.
CANDIDATE = re.compile(r"[A-Za-z0-9_\-=]{20,}")


def sha256(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def table_dump() -> str:
    """Everything the sessions table holds, as one string: what a database dump or a backup shows."""
    return " ".join(str(value) for row in Session.objects.values() for value in row.values())


def signs_someone_in(dump: str) -> list[str]:
    """Present every candidate found in `dump` as the session cookie of a fresh browser; the ones that worked."""
    worked = []
    for candidate in set(CANDIDATE.findall(dump)):
        attacker = Client()
        attacker.cookies[SESSION_COOKIE] = candidate
        if is_signed_in(attacker):
            worked.append(candidate)
    return worked


@pytest.fixture
def victim(signed_in, product):
    """alice, signed in, with a line in her cart."""
    signed_in.post("/cart/add/", {"product": product.pk})
    return signed_in


def test_the_table_holds_a_hash_of_each_key_never_the_key(victim):
    key = victim.cookies[SESSION_COOKIE].value
    assert Session.objects.filter(session_key=sha256(key)).exists()
    assert key not in table_dump()
    assert is_signed_in(victim)


def test_nothing_in_a_dump_of_the_table_signs_anyone_in(victim):
    dump = table_dump()
    assert Session.objects.get().session_key in dump  # the hash is there for the taking
    assert signs_someone_in(dump) == []
    assert is_signed_in(victim) and victim.get("/cart/summary/").json()["count"] == 1


def test_a_rotated_rows_seal_does_not_reveal_the_successor_to_a_dump(victim, clock):
    old_key = victim.cookies[SESSION_COOKIE].value
    clock.shift(ROTATION_DUE)
    new_key = victim.get("/").cookies[SESSION_COOKIE].value
    assert new_key != old_key
    old_row = Session.objects.get(session_key=sha256(old_key))
    assert old_row.successor_key == sha256(new_key) and old_row.successor_seal
    dump = table_dump()
    assert old_key not in dump and new_key not in dump
    # The seal opens with the old key only: every value of the dump fails as that key.
    candidates = set(CANDIDATE.findall(dump))
    assert old_row.successor_key in candidates
    for candidate in candidates:
        assert unseal(old_row.successor_seal, old_key=candidate, successor_hash=old_row.successor_key) is None
    assert signs_someone_in(dump) == []
    # The victim's tab still holding the old key is served within the grace, and moved to the new one.
    in_flight = Client()
    in_flight.cookies[SESSION_COOKIE] = old_key
    assert in_flight.get("/").cookies[SESSION_COOKIE].value == new_key
    assert is_signed_in(victim)


def test_the_audit_table_and_the_log_lines_carry_no_key(user, product, clock, caplog, audit_log):
    victim = Client()
    with caplog.at_level(logging.DEBUG):
        victim.post("/cart/add/", {"product": product.pk})  # a guest session
        guest_key = victim.cookies[SESSION_COOKIE].value
        sign_in(victim)
        signed_in_key = victim.cookies[SESSION_COOKIE].value
        clock.shift(ROTATION_DUE)
        victim.get("/")  # a rotation (session_renewed)
        thief = Client(HTTP_USER_AGENT="curl/8.5")
        thief.cookies[SESSION_COOKIE] = "a" * 32
        thief.get("/")  # an unknown key (session_use_after_expire)
    keys = {guest_key, signed_in_key, victim.cookies[SESSION_COOKIE].value}
    log_lines = caplog.text + " ".join(json.dumps(record.__dict__, default=str) for record in caplog.records)
    audit_lines = json.dumps(audit_log()) + " ".join(
        str(value) for row in AuditEvent.objects.values() for value in row.values()
    )
    assert {"session_created", "authn_login_success", "session_renewed"} <= {line["event"] for line in audit_log()}
    for key in keys:
        assert key not in log_lines and key not in audit_lines
    assert signs_someone_in(log_lines + audit_lines) == []
    assert is_signed_in(victim)


def test_the_redis_copies_of_the_cached_engine_carry_no_key(redis_cache, cached_variant, victim):
    victim.get("/")
    victim.get("/cart/")  # the user's and the cart's copies are made now
    key = victim.cookies[SESSION_COOKIE].value
    names = redis_cache.keys("*")
    assert any(b"shopdemo.user." in name for name in names)  # the cache is in use
    dump = " ".join(f"{name!r} {redis_cache.get(name)!r}" for name in names)  # pickles and bare numbers
    assert key not in dump and sha256(key) not in dump  # sessions are read from the table only
    assert signs_someone_in(dump) == []
    assert is_signed_in(victim)
