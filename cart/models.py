"""Catalog, carts and orders."""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.sessions.policy import CART_SESSION_KEY


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


@dataclass(frozen=True)
class CartOwner:
    """Whose cart it is: a signed-in user's, or a guest session's (which holds its cart's id, once it has one)."""

    user: object = None  # the signed-in user; None for a guest
    session: object = None  # the guest's session; read at each use, so a cart created since is found

    @classmethod
    def of(cls, request) -> "CartOwner":
        return cls(user=request.user) if request.user.is_authenticated else cls(session=request.session)

    @property
    def guest_cart_id(self) -> int | None:
        """The id of the guest's cart (None for a signed-in owner, or a guest without a cart)."""
        return None if self.user is not None else self.session.get(CART_SESSION_KEY)


class CartQuerySet(models.QuerySet):
    def open_for(self, owner: CartOwner):
        """The owner's open cart, as a queryset of at most one row (none for a guest without a cart).

        A guest's is found by the id its session holds, and only while no account owns it.
        """
        if owner.user is not None:
            return self.filter(user=owner.user, status=Cart.Status.OPEN)
        if (cart_id := owner.guest_cart_id) is None:
            return self.none()
        return self.filter(pk=cart_id, user__isnull=True, status=Cart.Status.OPEN)


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

    objects = CartQuerySet.as_manager()

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


class OrderQuerySet(models.QuerySet):
    def unclaimed_guest(self):
        """Guest orders that no account has taken yet."""
        return self.exclude(email="").filter(user__isnull=True, claimed_at__isnull=True)


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
    # A guest order's address for its mail and signed link; blank for an account's order.
    email = models.EmailField(blank=True)
    # When an account took the guest order (registered from its browser, or confirmed its
    # address). Kept after the account is deleted, so the order is never claimed twice.
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The checkout form's id: the same form sent again (a retry after an error page) finds this order.
    request_id = models.CharField(max_length=64, blank=True, default="", editable=False)

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "request_id"], condition=~Q(request_id=""), name="order_placed_once_per_form"
            ),
            models.CheckConstraint(
                condition=Q(claimed_at__isnull=True) | ~Q(email=""), name="only_guest_orders_claimed"
            ),
        ]

    def __str__(self):
        return f"order {self.number}"

    @property
    def is_guest(self) -> bool:
        """Placed without an account (it may have been claimed since)."""
        return bool(self.email)

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
