"""The password hasher: Argon2id at OWASP's parameters (Password Storage Cheat Sheet)."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idHasher(Argon2PasswordHasher):
    """Django's Argon2id hasher with m = 19 MiB, t = 2, p = 1: OWASP's first choice for a web server.

    Django's defaults (100 MiB, 8 lanes) cost five times the memory per sign-in; these
    parameters are OWASP's minimum and keep a sign-in to one core. Hashes made with other
    parameters still verify, and `must_update` rehashes them at the next sign-in.
    """

    memory_cost = 19 * 1024  # KiB
    time_cost = 2
    parallelism = 1
