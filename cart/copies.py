"""The cached variant's copies of carts and of the catalog (SESSION_CACHED=true), through shopdemo.cache.

Every storefront page reads the visitor's cart (the badge, the add buttons' room, the
summary). Once the user comes from the cache, that read is a signed-in request's only
query besides its session's, so its result is kept in the shared cache, keyed by the
cart's owner (the signed-in user, or a guest's cart); and each process keeps the catalog's
answer in its own memory ("fragments"), under the catalog's stamp.

A cart's copy is served while two stamps hold (shopdemo.cache.stamped): the catalog's,
which any change to a product or category replaces (so no copy shows an old price or
stock), and the cart's own, which every change to its lines or owner replaces. Purging a
cart drops its keys (carts_purged).
"""

import hashlib

from django.core.cache import caches

from cart.models import CartItem, Product
from shopdemo import cache

CATALOG_STAMP = "shopdemo.catalog.stamp"
CART_PREFIX = "shopdemo.cart."


def owner_key(*, user_id=None, cart_id=None) -> str:
    """The cache name of a cart: by its user once signed in (the open cart is found by user), else by its id."""
    return f"{CART_PREFIX}user.{user_id}" if user_id else f"{CART_PREFIX}{cart_id}"


def _stamp_of(owner: str) -> str:
    return owner + ".stamp"


def _dump(rows: list[CartItem]) -> list:
    return [(cache.row_copy(line), cache.row_copy(line.product)) for line in rows]


def _restore(copied: list) -> list[CartItem]:
    rows = []
    for line, product in copied:
        item = cache.row_restore(CartItem, line)
        item.product = cache.row_restore(Product, product)
        rows.append(item)
    return rows


def lines(owner: str, load) -> list[CartItem]:
    """The lines (with their products) of the cart named `owner`: the copy while its stamps hold, else load()."""
    return cache.stamped(owner, (_stamp_of(owner), CATALOG_STAMP), load, dump=_dump, restore=_restore)


def catalog(load, filters: tuple):
    """What the catalog shows for `filters`: this process's copy while the catalog's stamp holds, else load().

    The copy is in the process's own memory (the "fragments" cache): reading it costs no
    query and no network round trip but the stamp's.
    """
    stamp = cache.stamp(CATALOG_STAMP)
    if stamp is None:
        return load()
    key = f"shopdemo.catalog.{stamp}.{hashlib.md5(repr(filters).encode(), usedforsecurity=False).hexdigest()}"
    found = caches["fragments"].get(key)
    if found is None:
        found = load()
        caches["fragments"].set(key, found, cache.TTL_MAX)
    return found


def cart_changed(cart) -> None:
    """Call inside the transaction that changes a cart's lines or owner: its copies end with the commit."""
    owners = {owner_key(cart_id=cart.pk), owner_key(user_id=cart.user_id, cart_id=cart.pk)}
    cache.bump(*(_stamp_of(owner) for owner in owners))


def carts_purged(cart_ids) -> None:
    """Call when guest carts are deleted for good (manage.py purge_sessions): their copies and stamps go."""
    owners = [owner_key(cart_id=cart_id) for cart_id in cart_ids]
    cache.forget(*(key for owner in owners for key in (owner, _stamp_of(owner))))


def catalog_changed() -> None:
    """Call when a product or category changes (its save or delete, stock taken by an order)."""
    cache.bump(CATALOG_STAMP)
