"""Guessing passwords offline from a dump of `auth_user`.

The attacker has a copy of the table (a backup, a replica, an SQL injection
elsewhere) and GPUs: each guess costs what the stored hash's parameters make
it cost. Passwords are Argon2id at OWASP's parameters (m = 19 MiB, t = 2,
p = 1: memory per guess that GPUs have little of); a PBKDF2 hash from before,
or an Argon2 hash with other parameters, still signs in and is rehashed at
that sign-in, so old hashes leave the dump as their owners come back.

The rest of the suite hashes with MD5 for speed (tests/conftest.py); these
tests put the production list back.
"""

import argon2
import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, identify_hasher, make_password
from django.db import connection

from shopdemo import settings as production
from tests.conftest import is_signed_in, sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

PBKDF2 = "django.contrib.auth.hashers.PBKDF2PasswordHasher"
OWASP = (argon2.Type.ID, 19 * 1024, 2, 1)  # type, memory (KiB), passes, lanes


@pytest.fixture
def production_hashers(settings):
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS


def dumped_hash(username: str) -> str:
    """The password column of `username`'s row, as a dump of auth_user has it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM auth_user WHERE username = %s", [username])
        return cursor.fetchone()[0]


def cost(dumped: str) -> tuple:
    """What each guess against the dumped hash costs, read from it as any cracking tool reads it."""
    algorithm, encoded = dumped.split("$", 1)
    assert algorithm == "argon2", dumped
    found = argon2.extract_parameters("$" + encoded)
    return found.type, found.memory_cost, found.time_cost, found.parallelism


def test_the_production_list_is_argon2id_first_and_pbkdf2_second():
    assert production.PASSWORD_HASHERS == ["accounts.hashers.Argon2idHasher", PBKDF2]


def test_a_new_password_is_an_argon2id_hash_at_owasps_parameters(production_hashers):
    encoded = make_password("correct horse battery staple")
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert identify_hasher(encoded).verify("correct horse battery staple", encoded)


def test_a_dumped_hash_of_a_registered_account_costs_owasps_argon2id_per_guess(production_hashers, client):
    client.post(
        "/accounts/register/",
        {"username": "newbie", "email": "newbie@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    dumped = dumped_hash("newbie")
    assert cost(dumped) == OWASP
    assert PASSWORD not in dumped
    guesser = argon2.PasswordHasher()  # the attacker's tool: each guess is one Argon2id run at those costs
    with pytest.raises(argon2.exceptions.VerifyMismatchError):
        guesser.verify(dumped.removeprefix("argon2"), "password123")
    assert guesser.verify(dumped.removeprefix("argon2"), PASSWORD)


def test_a_pbkdf2_hash_signs_in_and_is_rehashed_with_argon2id(production_hashers, client, user):
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    assert dumped_hash("alice").startswith("pbkdf2_sha256$")
    sign_in(client, user.username)
    assert is_signed_in(client)
    assert cost(dumped_hash("alice")) == OWASP  # the next dump holds Argon2id only


def test_a_failed_sign_in_leaves_the_old_hash_as_it_was(production_hashers, client, user):
    """Only the owner's right password rehashes: a guesser cannot make the server rewrite the row."""
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    before = dumped_hash("alice")
    sign_in(client, user.username, password="wrong-guess")
    assert dumped_hash("alice") == before


def test_an_argon2_hash_with_other_parameters_is_rehashed_at_sign_in(production_hashers, client, user):
    django_argon2 = Argon2PasswordHasher()  # Django's own parameters: 100 MiB, 8 lanes
    user.password = django_argon2.encode(PASSWORD, django_argon2.salt())
    user.save(update_fields=["password"])
    assert "m=102400" in user.password
    sign_in(client, user.username)
    assert cost(dumped_hash("alice")) == OWASP
