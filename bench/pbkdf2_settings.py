"""For `make bench`'s sign-in rows: shopdemo hashing passwords with PBKDF2, as before Argon2id.

The same settings as shopdemo with PBKDF2 first: an Argon2id hash still verifies, and is
rehashed with PBKDF2 at its first sign-in here (the bench signs in once before its run).
"""

from shopdemo.settings import *  # noqa: F403
from shopdemo.settings import PASSWORD_HASHERS

PASSWORD_HASHERS = list(reversed(PASSWORD_HASHERS))
