"""Authentication backends: Django's and django-otp-webauthn's, reading the signed-in user through the session engine.

Each request of a signed-in user loads the user's row. The engine decides how: the
database engine runs the same query as Django; the cached engine keeps a copy of the row
beside the session's (accounts.sessions.cached_store), so a signed-in request reads
neither table.
"""

from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django_otp_webauthn.backends import WebAuthnBackend as DjangoOTPWebAuthnBackend

from accounts.sessions.store import engine_store


class EngineUserMixin:
    def get_user(self, user_id):
        user = engine_store().load_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class ModelBackend(EngineUserMixin, DjangoModelBackend):
    """Username and password (accounts.flows.sign_in)."""


class WebAuthnBackend(EngineUserMixin, DjangoOTPWebAuthnBackend):
    """A verified passkey (accounts.flows.passkeys)."""
