"""The cached variant of the engine (SESSION_CACHED=true): the cache in front of the same table.

Django's cached_db pattern, keeping the row's metadata: a request usually reads
its session from the cache (SESSION_CACHE_ALIAS, as in Django) and writes go
through to the database, which stays the truth. The cache is keyed by the key's
hash like the table, so a cache dump signs nobody in either.

Whatever the cache backend, a cache failure costs speed, not availability: a
failed read is a miss, and a failed write or delete is logged. A delete that
failed during an outage could leave a copy of an ended session behind, so no
copy lives longer than CACHE_TTL_MAX: that bounds how long it could be served.

The signed-in user's row is kept the same way (load_user, for accounts.backends), so a
signed-in request reads neither table. Every save or deletion of a user drops the copy
(accounts.signals), at once and again after the commit, so the next request reads the
new row; only permissions and groups, which are never copied, are read from the
database when a page asks for them.
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.db import router, transaction
from django.utils import timezone

from accounts.sessions import store

KEY_PREFIX = "shopdemo.session."
USER_KEY_PREFIX = "shopdemo.user."
CACHE_TTL_MAX = 300  # seconds; see the module docstring

# Where and how Django's cached_db engine reports a cache that failed a write.
logger = logging.getLogger("django.contrib.sessions")


def _cache():
    return caches[settings.SESSION_CACHE_ALIAS]


def _cache_key(key_hash: str) -> str:
    return KEY_PREFIX + key_hash


def _safely(operation, *args):
    """Run a cache operation; on any backend's failure log it and answer None (a miss)."""
    try:
        return operation(*args)
    except Exception:  # noqa: BLE001 - every backend raises its own errors; none may cost a 500
        logger.error("Error in the session cache (%s)", operation.__name__, exc_info=True)
        return None


def now_and_after_commit(operation, *args) -> None:
    """Run `operation` at once and again after the commit of the transaction in progress.

    A copy made by another request from rows read before the commit then cannot outlive it.
    """
    operation(*args)
    transaction.on_commit(lambda: operation(*args))


def _copy(obj) -> dict:
    """A row's column values: what the cache keeps (nothing a request computed from the row)."""
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def _from_copy(model, values: dict):
    return model.from_db(router.db_for_read(model), list(values), list(values.values()))


def _remember(row) -> None:
    ttl = min(CACHE_TTL_MAX, int((row.expire_date - timezone.now()).total_seconds()))
    if ttl > 0:
        _safely(_cache().set, _cache_key(row.session_key), _copy(row), ttl)


class SessionStore(store.SessionStore):
    """The project's session store with a write-through cache of each row."""

    def _fetch(self, key_hash):
        cached = _safely(_cache().get, _cache_key(key_hash))
        if cached is not None:
            return _from_copy(self.model, cached)
        row = super()._fetch(key_hash)
        if row is not None:
            _remember(row)
        return row

    def save(self, must_create=False):
        super().save(must_create=must_create)
        _remember(self.row)

    def rotate(self, *, grace: int):
        old_hash = store.hash_key(self.session_key)
        super().rotate(grace=grace)
        self.forget([old_hash])  # its row now points at the successor

    @classmethod
    def forget(cls, key_hashes) -> None:
        _safely(_cache().delete_many, [_cache_key(key_hash) for key_hash in key_hashes])

    @classmethod
    def load_user(cls, user_id):
        User = get_user_model()
        key = USER_KEY_PREFIX + str(user_id)
        cached = _safely(_cache().get, key)
        if cached is not None:
            return _from_copy(User, cached)  # the row's values only: no permissions cached by a request
        user = super().load_user(user_id)
        if user is not None:
            _safely(_cache().set, key, _copy(user), CACHE_TTL_MAX)
        return user

    @classmethod
    def forget_user(cls, user_id) -> None:
        _safely(_cache().delete, USER_KEY_PREFIX + str(user_id))
