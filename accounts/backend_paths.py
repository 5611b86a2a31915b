"""The sign-in backends' dotted paths, and the ones they replaced (no imports: settings read this).

Sessions record the path of the backend that signed them in; accounts.backends subclasses
Django's and django-otp-webauthn's backends, so a session that names one of those is
carried over to its replacement (accounts.sessions.store).
"""

PASSWORD = "accounts.backends.ModelBackend"
PASSKEY = "accounts.backends.WebAuthnBackend"
REPLACED = {
    "django.contrib.auth.backends.ModelBackend": PASSWORD,
    "django_otp_webauthn.backends.WebAuthnBackend": PASSKEY,
}
