"""Passwords are stored with Argon2id at OWASP's parameters; PBKDF2 hashes still verify and are upgraded.

The rest of the suite hashes with MD5 for speed (tests/conftest.py); these tests put the
production list back.
"""

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, identify_hasher, make_password

from shopdemo import settings as production
from tests.conftest import is_signed_in, sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

PBKDF2 = "django.contrib.auth.hashers.PBKDF2PasswordHasher"


@pytest.fixture
def production_hashers(settings):
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS


def test_the_production_list_is_argon2id_first_and_pbkdf2_second():
    assert production.PASSWORD_HASHERS == ["accounts.hashers.Argon2idHasher", PBKDF2]


def test_a_new_password_is_an_argon2id_hash_at_owasps_parameters(production_hashers):
    encoded = make_password("correct horse battery staple")
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert identify_hasher(encoded).verify("correct horse battery staple", encoded)


def test_a_pbkdf2_hash_signs_in_and_is_rehashed_with_argon2id(production_hashers, client, user):
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    sign_in(client, user.username)
    assert is_signed_in(client)
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")


def test_an_argon2_hash_with_other_parameters_is_rehashed_at_sign_in(production_hashers, client, user):
    django_argon2 = Argon2PasswordHasher()  # Django's own parameters: 100 MiB, 8 lanes
    user.password = django_argon2.encode(PASSWORD, django_argon2.salt())
    user.save(update_fields=["password"])
    assert "m=102400" in user.password
    sign_in(client, user.username)
    user.refresh_from_db()
    assert "m=19456,t=2,p=1" in user.password
