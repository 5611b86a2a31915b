"""Catalog, carts and orders."""

import colorsys
import functools
import hashlib
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

# WCAG 2.x AA for normal text: the initials on a product's picture stay readable.
ART_MIN_CONTRAST = 4.5


def _relative_luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG 2.x relative luminance of an sRGB colour with channels in 0..1."""
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_with_white(rgb: tuple[float, float, float]) -> float:
    return 1.05 / (_relative_luminance(rgb) + 0.05)


@functools.cache
def art_colour(hue: int) -> str:
    """The lightest colour of `hue` on which white text still has AA contrast, as #rrggbb.

    Yellows and greens are light at any given HSL lightness, so a fixed
    lightness would leave some tiles unreadable; searching per hue keeps every
    tile as bright as contrast allows.
    """
    for lightness in range(50, 0, -1):
        rgb = colorsys.hls_to_rgb(hue / 360, lightness / 100, 0.6)
        rgb = tuple(round(c * 255) / 255 for c in rgb)  # what #rrggbb can say
        if contrast_with_white(rgb) >= ART_MIN_CONTRAST:
            return "#" + "".join(f"{round(c * 255):02x}" for c in rgb)
    raise AssertionError("black always contrasts with white")


class Category(models.Model):
    name = models.CharField(max_length=60, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in the catalog's filter (lowest first).")

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self):
        return self.name


class Product(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products")
    description = models.CharField(max_length=300)
    price = models.DecimalField(max_digits=8, decimal_places=2)
    stock = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    # A picture shipped under static/ (nothing is fetched at run time); without one the page draws a tile.
    picture = models.CharField(
        max_length=120, blank=True, help_text="Path under static/, e.g. img/products/aurora-desk-lamp.svg."
    )
    picture_alt = models.CharField(max_length=200, blank=True, help_text="What the picture shows, for screen readers.")

    class Meta:
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=Q(price__gt=0), name="product_price_positive")]

    def __str__(self):
        return self.name

    @property
    def is_available(self) -> bool:
        return self.is_active and self.stock > 0

    @property
    def initials(self) -> str:
        return "".join(word[0] for word in self.name.split()[:2]).upper()

    @functools.cached_property
    def _art_seed(self) -> bytes:
        return hashlib.sha256(self.slug.encode()).digest()

    @property
    def colour(self) -> str:
        """A stable colour for the product's picture, derived from its slug (AA contrast with white)."""
        return art_colour(int.from_bytes(self._art_seed[:2]) % 360)

    @property
    def art_shapes(self) -> list[tuple[int, int, int]]:
        """Two circles (cx, cy, r) in the picture's 120×90 box that make each product's art its own."""
        seed = self._art_seed
        return [(seed[2 + i] % 120, seed[4 + i] % 90, 18 + seed[6 + i] % 30) for i in (0, 1)]


class Cart(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "open"
        MERGED = "merged", "merged into an account's cart"

    # Null for a guest cart, whose id is kept in the guest's session.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="carts"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    # The request_id of the last adds applied to this cart (space-separated), so that an add
    # sent again (a balancer's retry after a server died before answering, a double click)
    # counts once.
    recent_requests = models.TextField(blank=True, default="", editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(status="open", user__isnull=False), name="one_open_cart_per_user"
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(merged_into__isnull=False),
                name="merged_cart_names_target",
            ),
        ]

    def __str__(self):
        return f"cart {self.pk} ({self.user or 'guest'}, {self.status})"


class CartItem(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "product"], name="one_line_per_product"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="cartitem_quantity_positive"),
        ]

    def __str__(self):
        return f"{self.quantity} x {self.product}"

    @property
    def line_total(self) -> Decimal:
        return self.product.price * self.quantity


class Order(models.Model):
    number = models.CharField(max_length=12, unique=True)
    # Null once the account is deleted: the order stays for the books, anonymised.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    # What the buyer pays: the lines' subtotal plus shipping (cart.services.shipping_for).
    total = models.DecimalField(max_digits=10, decimal_places=2)
    shipping = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("0.00"))
    # Where it goes; blank means collected in store.
    address = models.TextField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"order {self.number}"

    @property
    def subtotal(self) -> Decimal:
        return self.total - self.shipping


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, null=True, on_delete=models.SET_NULL, related_name="+")
    # Snapshots: the order says what was bought at which price, whatever the catalog says later.
    product_name = models.CharField(max_length=120)
    unit_price = models.DecimalField(max_digits=8, decimal_places=2)
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="orderline_quantity_positive")]

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity
