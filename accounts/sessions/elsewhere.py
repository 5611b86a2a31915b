"""Sessions ended from elsewhere (another device, the staff, a password change): their keys are remembered.

Ending a session deletes its row, so the device that still holds the cookie
would present an unknown key and look like a new visitor. Each ended key's
hash is remembered in the cache with why it ended, so that device's next page
says "You were signed out from another tab or device" once. A cache failure costs
only that sentence.
"""

import logging

from django.conf import settings
from django.core.cache import cache

from accounts.models import hash_key

KEY_PREFIX = "shopdemo.ended."
logger = logging.getLogger(__name__)


def remember(key_hashes, *, reason: str) -> None:
    """Remember why the sessions with these key hashes ended, for as long as a cookie of theirs can live."""
    try:
        cache.set_many({KEY_PREFIX + key_hash: reason for key_hash in key_hashes}, settings.SESSION_REMEMBER_ABSOLUTE)
    except Exception:  # noqa: BLE001 - every backend raises its own errors; none may cost a 500
        logger.warning("cache unavailable: ended sessions not remembered", exc_info=True)


def take(session_key: str) -> str | None:
    """Why the session of this (now unknown) key was ended from elsewhere, once; None if it was not."""
    cache_key = KEY_PREFIX + hash_key(session_key)
    try:
        reason = cache.get(cache_key)
        if reason is not None:
            cache.delete(cache_key)
    except Exception:  # noqa: BLE001
        logger.warning("cache unavailable: ended sessions not looked up", exc_info=True)
        return None
    return reason
