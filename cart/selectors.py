"""Catalog reads: what the storefront shows, in a fixed number of queries and with no session."""

from collections import Counter
from dataclasses import dataclass

from django.db.models import BooleanField, Case, Q, Value, When

from accounts.sessions.policy import GUEST_ORDERS_SESSION_KEY
from cart import copies
from cart.models import Category, Order, Product

# The catalog's sort choices: URL value -> (label, ORDER BY).
SORTS = {
    "": ("Name", ["name"]),
    "price": ("Price: low to high", ["price", "name"]),
    "-price": ("Price: high to low", ["-price", "name"]),
}
RELATED_COUNT = 4


@dataclass
class CategoryChoice:
    category: Category
    count: int  # products that match the search in this category


@dataclass
class Catalog:
    products: list[Product]
    categories: list[CategoryChoice]
    matching: int  # active products that match the search, in any category
    total: int  # active products, whatever the search or filter


def _matches(q: str):
    """True where every word of `q` is in the name, the description or the category's name.

    icontains is LIKE on SQLite (case-insensitive for ASCII) and UPPER(...) LIKE
    UPPER(...) on PostgreSQL; Django escapes % and _ in the words on both.
    """
    words = q.split()
    if not words:
        return Value(True)
    condition = Q()
    for word in words:
        condition &= Q(name__icontains=word) | Q(description__icontains=word) | Q(category__name__icontains=word)
    return Case(When(condition, then=Value(True)), default=Value(False), output_field=BooleanField())


def catalog_list(*, q: str = "", category: str = "", sort: str = "") -> Catalog:
    """The active products matching `q` in `category` (a slug, or all), sorted, with the filter's categories.

    One query for the whole page: every active product comes back marked with
    whether it matches the search, so the filter's categories and counts need
    no second query (the catalog page's query budget is fixed). The cached
    variant keeps the answer until the catalog changes (cart.copies).
    """
    return copies.catalog(lambda: _catalog_list(q=q, category=category, sort=sort), (q, category, sort))


def _catalog_list(*, q: str, category: str, sort: str) -> Catalog:
    rows = list(
        Product.objects.filter(is_active=True)
        .select_related("category")
        .annotate(matches=_matches(q))
        .order_by(*SORTS[sort][1])
    )
    matching = [product for product in rows if product.matches]
    counts = Counter(product.category_id for product in matching)
    categories = {product.category.pk: product.category for product in rows if product.category}
    choices = [CategoryChoice(category=c, count=counts[c.pk]) for c in sorted(categories.values(), key=_category_order)]
    shown = [p for p in matching if p.category and p.category.slug == category] if category else matching
    return Catalog(products=shown, categories=choices, matching=len(matching), total=len(rows))


def _category_order(category: Category):
    return (category.position, category.name)


def product_related(*, product: Product, limit: int = RELATED_COUNT) -> list[Product]:
    """Other active products of the same category first, then others, for "you may also like"."""
    same_category = Q(category=product.category) if product.category_id else Q(pk__in=[])
    return list(
        Product.objects.filter(is_active=True, stock__gt=0)
        .exclude(pk=product.pk)
        .annotate(near=Case(When(same_category, then=Value(0)), default=Value(1)))
        .order_by("near", "name")[:limit]
    )


def visitor_orders(request):
    """The orders the visitor may open: the account's, and those this browser's guest session placed.

    A guest order leaves the session's reach once an account has claimed it.
    """
    placed = Order.objects.unclaimed_guest().filter(number__in=request.session.get(GUEST_ORDERS_SESSION_KEY, []))
    return request.user.orders.all() | placed if request.user.is_authenticated else placed
