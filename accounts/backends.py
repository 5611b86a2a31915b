"""Authentication backends: Django's and django-otp-webauthn's, reading the signed-in user through the copies.

Each request of a signed-in user loads the user's row: by its primary key with the
query compiled once (accounts.sessions.store.row_by_pk), and with SESSION_CACHED from a
copy in the shared cache (shopdemo.cache) while the user's stamp holds, so a signed-in
request then reads no user row. Every save or deletion of a user bumps that stamp
(accounts.signals). Permissions and groups are never copied: a page that asks for them
reads the database.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django_otp_webauthn.backends import WebAuthnBackend as DjangoOTPWebAuthnBackend

from accounts.sessions.store import row_by_pk
from shopdemo import cache

USER_PREFIX = "shopdemo.user."


def _stamp_of(user_id) -> str:
    return f"{USER_PREFIX}{user_id}.stamp"


def load_user(user_id):
    """The user's row, or None if it is gone: the copy while the user's stamp holds, else the table's."""
    User = get_user_model()
    return cache.stamped(
        f"{USER_PREFIX}{user_id}",
        (_stamp_of(user_id),),
        lambda: row_by_pk(User, user_id),
        dump=lambda user: None if user is None else cache.row_copy(user),
        restore=lambda values: None if values is None else cache.row_restore(User, values),
    )


def user_changed(user_id) -> None:
    """Call when a user row is saved or deleted: its copy ends with the commit."""
    cache.bump(_stamp_of(user_id))


class CopiedUserMixin:
    def get_user(self, user_id):
        user = load_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class ModelBackend(CopiedUserMixin, DjangoModelBackend):
    """Username and password (accounts.flows.sign_in)."""


class WebAuthnBackend(CopiedUserMixin, DjangoOTPWebAuthnBackend):
    """A verified passkey (accounts.flows.passkeys)."""
