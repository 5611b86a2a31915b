"""The cached variant's copies of carts and of the catalog (SESSION_CACHED=true), beside the session's.

Every storefront page reads the visitor's cart (the badge, the add buttons' room, the
summary). Once the session and the user come from the cache, that read is a signed-in
request's only query, so its result is kept in the same cache, keyed by the cart's owner
(the signed-in user, or a guest's cart); and each process keeps the catalog's answer in its
own memory.

A copy is served only while the stamps it was made under are still current: the catalog's,
which any change to a product or category replaces (so no copy shows an old price or
stock), and, for a cart, its own, which every change to the cart's lines replaces. Writers
replace a stamp as they change the rows and again after their commit, and a reader takes
the stamps before it reads the database: a copy made from rows read before a commit
therefore carries a stamp that the commit has replaced, and is never served. Changes made
past the ORM's save and delete (raw SQL, a queryset's update) are seen when the copy
expires, after at most CACHE_TTL_MAX. A cache failure is a miss, as for sessions.

Every key here lives at most CACHE_TTL_MAX, stamps too: a stamp that expires only makes
the copies made under it useless (the next reader sets a new one), and nothing grows
without bound in a cache that never evicts. Purging a cart drops its keys (carts_purged).
"""

import hashlib
import secrets

from django.conf import settings
from django.core.cache import caches

from accounts.sessions.cached_store import CACHE_TTL_MAX, _cache, _copy, _from_copy, _safely, now_and_after_commit
from cart.models import CartItem, Product

CATALOG_STAMP = "shopdemo.catalog.stamp"
CART_PREFIX = "shopdemo.cart."


def owner_key(*, user_id=None, cart_id=None) -> str:
    """The cache name of a cart: by its user once signed in (the open cart is found by user), else by its id."""
    return f"{CART_PREFIX}user.{user_id}" if user_id else f"{CART_PREFIX}{cart_id}"


def lines(owner: str, load) -> list[CartItem]:
    """The lines (with their products) of the cart named `owner`: the copy while its stamps hold, else load()."""
    if not settings.SESSION_CACHED:
        return load()
    stamp_key = owner + ".stamp"
    got = _safely(_cache().get_many, [owner, stamp_key, CATALOG_STAMP]) or {}
    stamps = (got.get(stamp_key), got.get(CATALOG_STAMP))
    copy = got.get(owner)
    if copy is not None and None not in stamps and copy["stamps"] == stamps:
        return [_restore(line, product) for line, product in copy["lines"]]
    rows = load()
    if None in stamps:  # never set, or evicted: set them now, and copy from the next read on
        _safely(_cache().add, stamp_key, secrets.randbits(64), CACHE_TTL_MAX)
        _safely(_cache().add, CATALOG_STAMP, secrets.randbits(64), CACHE_TTL_MAX)
    else:
        copied = [(_copy(line), _copy(line.product)) for line in rows]
        _safely(_cache().set, owner, {"stamps": stamps, "lines": copied}, CACHE_TTL_MAX)
    return rows


def catalog(load, filters: tuple):
    """What the catalog shows for `filters`: this process's copy while the catalog's stamp holds, else load().

    The copy is in the process's own memory (the "fragments" cache): reading it costs no
    query and no network round trip but the stamp's.
    """
    if not settings.SESSION_CACHED:
        return load()
    stamp = _safely(_cache().get, CATALOG_STAMP)
    if stamp is None:  # never set, or evicted: set it now, and copy from the next read on
        _safely(_cache().add, CATALOG_STAMP, secrets.randbits(64), CACHE_TTL_MAX)
        return load()
    key = f"shopdemo.catalog.{stamp}.{hashlib.md5(repr(filters).encode(), usedforsecurity=False).hexdigest()}"
    found = caches["fragments"].get(key)
    if found is None:
        found = load()
        caches["fragments"].set(key, found, CACHE_TTL_MAX)
    return found


def _restore(line: dict, product: dict) -> CartItem:
    item = _from_copy(CartItem, line)
    item.product = _from_copy(Product, product)
    return item


def _replace(key: str) -> None:
    if settings.SESSION_CACHED:
        _safely(_cache().set, key, secrets.randbits(64), CACHE_TTL_MAX)


def cart_changed(cart) -> None:
    """Call inside the transaction that changes a cart's lines or owner: its copies end with the commit."""
    for owner in {owner_key(cart_id=cart.pk), owner_key(user_id=cart.user_id, cart_id=cart.pk)}:
        now_and_after_commit(_replace, owner + ".stamp")


def carts_purged(cart_ids) -> None:
    """Call when guest carts are deleted for good (manage.py purge_sessions): their copies and stamps go."""
    if settings.SESSION_CACHED:
        owners = [owner_key(cart_id=cart_id) for cart_id in cart_ids]
        _safely(_cache().delete_many, [key for owner in owners for key in (owner, owner + ".stamp")])


def catalog_changed() -> None:
    """Call when a product or category changes (its save or delete, stock taken by an order)."""
    now_and_after_commit(_replace, CATALOG_STAMP)
