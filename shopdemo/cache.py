"""The copies' toolkit: rows kept in the `copies` cache and served while their stamps hold.

The `copies` alias is the shared cache (Redis in production) when SESSION_CACHED is
true, and Django's DummyCache otherwise: the dummy keeps nothing, so every read here
misses and loads from the database, and no caller needs to ask the flag.

A copy is served only under the stamps it was made under (stamped()). The invariant that
makes this safe is stated once, on bump(). Every key lives at most TTL_MAX: a stamp that
expires only makes the copies made under it useless (the next reader sets a new one), and
nothing grows without bound in a cache that never evicts.

A cache failure costs speed, never availability: safely() turns any backend's error into
a miss or a no-op, and logs it. It is the only layer that handles cache errors.
"""

import logging
import secrets

from django.core.cache import caches
from django.db import router, transaction

ALIAS = "copies"
TTL_MAX = 300  # seconds

logger = logging.getLogger(__name__)


def copies():
    return caches[ALIAS]


def safely(operation, *args):
    """Run a cache operation; on any backend's failure log it and answer None (a miss)."""
    try:
        return operation(*args)
    except Exception:  # noqa: BLE001 - every backend raises its own errors; none may cost a 500
        logger.warning("cache unavailable: %s", operation.__name__, exc_info=True)
        return None


def row_copy(obj) -> dict:
    """A row's column values: what the cache keeps (nothing a request computed from the row)."""
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def row_restore(model, values: dict):
    """The model instance that row_copy() was taken from, as if just read from the database."""
    return model.from_db(router.db_for_read(model), list(values), list(values.values()))


def _replace(*stamps: str) -> None:
    safely(copies().set_many, {stamp: secrets.randbits(64) for stamp in stamps}, TTL_MAX)


def bump(*stamps: str) -> None:
    """Replace `stamps` at once and again after the commit of the transaction in progress.

    The invariant every copy rests on: a writer bumps the stamps of what it changes, inside
    the transaction that changes the rows and again after its commit, and a reader takes the
    stamps before it reads the database (stamped()). A copy made from rows read before a
    commit therefore carries a stamp that the commit has replaced, and is never served.
    Changes made past the ORM's save and delete (raw SQL, a queryset's update) bump nothing:
    they are seen when the copies expire, after at most TTL_MAX.
    """
    _replace(*stamps)
    transaction.on_commit(lambda: _replace(*stamps))


def stamped(key: str, stamps: tuple, load, *, dump=lambda value: value, restore=lambda value: value):
    """load()'s answer, or the copy kept under `key` while each of `stamps` is still what it was when it was made.

    `dump` turns the answer into what the cache keeps (row_copy() of its rows), `restore`
    turns that back.
    """
    got = safely(copies().get_many, [key, *stamps]) or {}
    current = tuple(got.get(stamp) for stamp in stamps)
    copy = got.get(key)
    if copy is not None and None not in current and copy["stamps"] == current:
        return restore(copy["value"])
    value = load()
    missing = [stamp for stamp, held in zip(stamps, current) if held is None]
    if missing:  # never set, or evicted: set them now, and copy from the next read on
        for stamp in missing:
            safely(copies().add, stamp, secrets.randbits(64), TTL_MAX)
    else:
        safely(copies().set, key, {"stamps": current, "value": dump(value)}, TTL_MAX)
    return value


def stamp(name: str):
    """The current value of stamp `name`, or None when it was never set or was evicted (it is set now)."""
    value = safely(copies().get, name)
    if value is None:
        safely(copies().add, name, secrets.randbits(64), TTL_MAX)
    return value


def forget(*keys: str) -> None:
    """Drop copies and stamps for good (their rows are gone)."""
    safely(copies().delete_many, list(keys))
