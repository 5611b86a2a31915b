"""The cached variant of the engine (SESSION_CACHED=true): copies of what a request reads besides its session.

The session row itself is read from the table on every request, in this variant
too: ending a session is the database's decision, and no copy can outlive it.
A cache that missed a delete (stalled, restarting, unreachable) therefore never
brings a signed-out or revoked session back, on any server, not even for a
request: the old cookie is refused at its very next request (docs/sessions.md).

What is copied is the signed-in user's row (load_user, for accounts.backends) and
the carts and catalog (cart.copies), so a signed-in request reads one row by its
primary key and nothing else. Every save or deletion of a user drops its copy
(accounts.signals), at once and again after the commit, so the next request reads
the new row; only permissions and groups, which are never copied, are read from the
database when a page asks for them.

Whatever the cache backend, a cache failure costs speed, not availability: a
failed read is a miss, and a failed write or delete is logged. Every copy lives
at most CACHE_TTL_MAX, which bounds how long a user's copy that a failed delete
left behind can be served (a changed name or staff flag; never a session).
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.db import router, transaction

from accounts.sessions import store

USER_KEY_PREFIX = "shopdemo.user."
CACHE_TTL_MAX = 300  # seconds; see the module docstring

logger = logging.getLogger(__name__)


def _cache():
    return caches[settings.SESSION_CACHE_ALIAS]


def _safely(operation, *args):
    """Run a cache operation; on any backend's failure log it and answer None (a miss)."""
    try:
        return operation(*args)
    except Exception:  # noqa: BLE001 - every backend raises its own errors; none may cost a 500
        logger.warning("session cache unavailable: %s", operation.__name__, exc_info=True)
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


class SessionStore(store.SessionStore):
    """The project's session store, with the signed-in user's row copied in the cache."""

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
