"""Cart and order writes: each function is one transaction.

Lock order, the same in every service so that two of them can never wait on
each other: the cart row first (_lock_cart), then its lines, then products.
"""

import functools
import secrets
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from accounts.sessions.policy import CART_SESSION_KEY
from cart import copies
from cart.models import Cart, CartItem, Order, OrderLine, Product
from shopdemo.mail import after_response, mail_send

ORDER_NUMBER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I lookalikes
ORDER_NUMBER_LENGTH = 10

MSG_QUANTITY_RANGE = "Quantity must be a whole number from 1 to {max}."
MSG_LINE_CAP = "You can have at most {cap} of {name} in your cart ({reason})."
MSG_LINE_HELD = " It holds {held} already."
MSG_UNAVAILABLE = "{name} is no longer available; you can only remove it from your cart."
MSG_SOLD_OUT = "{name} is sold out."
MSG_EMPTY_ORDER = "Your cart has nothing that can be ordered."
MSG_NOTHING_AVAILABLE = "Nothing in your cart can be ordered now: {names} sold out or no longer sold."
MSG_OVER_STOCK = "Only {stock} of {name} left in stock; lower the quantity to order."
MSG_CART_LEFT_BEHIND = (
    "A guest cart started in another browser was found with this sign-in; it was not added to your account."
)
MSG_CONFLICT = "Your cart was being changed by another request at the same moment; please try again."
# PostgreSQL's serialization_failure and deadlock_detected: the transaction
# lost a race and may simply be run again.
RETRYABLE_SQLSTATES = {"40001", "40P01"}
RECENT_REQUESTS = 32  # adds remembered per cart: far more than a page's retries or a double click


class CartError(Exception):
    """A cart or order change that cannot be made; the message is for the user."""


class NotFound(Exception):
    """The product or cart line does not exist (for this visitor)."""


class CartConflict(CartError):
    """The change lost a race with another one twice in a row (answered with 409)."""


def is_retryable(error: BaseException) -> bool:
    """Whether a database error is a lost race (deadlock, serialization) rather than an outage."""
    return isinstance(error, OperationalError) and getattr(error.__cause__, "sqlstate", None) in RETRYABLE_SQLSTATES


def retry_once(service):
    """Run a cart write again if it lost a race; a second loss is a CartConflict, never the outage page."""

    @functools.wraps(service)
    def run(**kwargs):
        try:
            return service(**kwargs)
        except OperationalError as error:
            if not is_retryable(error):
                raise
        try:
            return service(**kwargs)
        except OperationalError as error:
            if is_retryable(error):
                raise CartConflict(MSG_CONFLICT) from error
            raise

    return run


def _lock_cart(cart: Cart) -> None:
    """Lock the cart row until commit: parallel changes to one cart queue here (see the lock order above)."""
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
    copies.cart_changed(cart)


def _line_cap(product: Product) -> tuple[int, str]:
    """Return the most units of `product` one cart line may hold, and why."""
    if product.stock < settings.MAX_LINE_QUANTITY:
        return product.stock, f"only {product.stock} in stock"
    return settings.MAX_LINE_QUANTITY, "the limit per product"


def line_room(*, product: Product, in_cart: int) -> int:
    """Return how many more units of `product` a cart holding `in_cart` of it may take."""
    return max(0, _line_cap(product)[0] - in_cart)


def _refuse_over_cap(product: Product, *, held: int, quantity: int) -> None:
    cap, reason = _line_cap(product)
    if held + quantity > cap:
        held_text = MSG_LINE_HELD.format(held=held) if held else ""
        raise CartError(MSG_LINE_CAP.format(cap=cap, name=product.name, reason=reason) + held_text)


def _check_quantity(quantity: int) -> None:
    if not 1 <= quantity <= settings.MAX_LINE_QUANTITY:
        raise CartError(MSG_QUANTITY_RANGE.format(max=settings.MAX_LINE_QUANTITY))


def _visitor_cart(*, user, session) -> tuple[str, dict] | None:
    """The visitor's open cart: its name in cart.copies and what finds it on Cart (None: a guest without one)."""
    if user.is_authenticated:
        return copies.owner_key(user_id=user.pk), {"user": user, "status": Cart.Status.OPEN}
    if (cart_id := session.get(CART_SESSION_KEY)) is None:
        return None
    return copies.owner_key(cart_id=cart_id), {"pk": cart_id, "user__isnull": True, "status": Cart.Status.OPEN}


def _open_cart_filter(*, user, session, via: str = "") -> dict | None:
    """The filter that finds the visitor's open cart, on Cart or through the relation `via` ("cart__").

    None for a guest without a cart. Through a relation it is a join, which costs the ORM a
    fifth less work than a subquery on every cart read.
    """
    found = _visitor_cart(user=user, session=session)
    return None if found is None else {via + name: value for name, value in found[1].items()}


def _open_carts(*, user, session):
    """The visitor's open cart as a queryset (empty for a visitor without one)."""
    conditions = _open_cart_filter(user=user, session=session)
    return Cart.objects.none() if conditions is None else Cart.objects.filter(**conditions)


def _open_cart_lines(*, user, session):
    """The lines of the visitor's open cart as a queryset (empty for a visitor without one)."""
    conditions = _open_cart_filter(user=user, session=session, via="cart__")
    return CartItem.objects.none() if conditions is None else CartItem.objects.filter(**conditions)


def cart_get(*, user, session) -> Cart | None:
    """Return the visitor's open cart, or None; never creates a cart or a session."""
    return _open_carts(user=user, session=session).first()


def cart_get_or_create(*, user, session) -> Cart:
    """Return the visitor's open cart, creating it (and a guest's session) if needed."""
    cart = cart_get(user=user, session=session)
    if cart is not None:
        return cart
    if user.is_authenticated:
        return Cart.objects.get_or_create(user=user, status=Cart.Status.OPEN)[0]
    cart = Cart.objects.create()
    session[CART_SESSION_KEY] = cart.pk  # the first add-to-cart is what creates a guest's session
    return cart


def _first_time(cart: Cart, request_id: str) -> bool:
    """Record `request_id` as applied to the locked cart; False if it already was (the request came again)."""
    recent = Cart.objects.filter(pk=cart.pk).values_list("recent_requests", flat=True).get().split()
    if request_id in recent:
        return False
    kept = " ".join([*recent[1 - RECENT_REQUESTS :], request_id])
    Cart.objects.filter(pk=cart.pk).update(recent_requests=kept)
    return True


@retry_once
def cart_add_item(*, user, session, product_id: int, quantity: int, request_id: str = "") -> Product:
    """Add `quantity` units of an active product to the visitor's cart, creating it if needed; return the product.

    An add with the `request_id` of one already applied to the cart changes nothing and
    answers as the first did: its form was sent twice.
    """
    product = Product.objects.filter(pk=product_id, is_active=True).first()
    if product is None:
        raise NotFound
    _check_quantity(quantity)
    if not product.stock:
        raise CartError(MSG_SOLD_OUT.format(name=product.name))
    # More than the cap is refused whatever the cart holds: checked before a
    # guest's cart exists, so a refused add never creates a session.
    _refuse_over_cap(product, held=0, quantity=quantity)
    # Only now, with the input known good, may a guest's cart and session be created.
    cart = cart_get_or_create(user=user, session=session)
    with transaction.atomic():
        # Parallel adds queue on the lock instead of reading the same line and
        # losing each other's units.
        _lock_cart(cart)
        if request_id and not _first_time(cart, request_id):
            return product
        line = CartItem.objects.filter(cart=cart, product=product).first()
        _refuse_over_cap(product, held=line.quantity if line else 0, quantity=quantity)
        if line is None:
            CartItem.objects.create(cart=cart, product=product, quantity=quantity)
        else:
            CartItem.objects.filter(pk=line.pk).update(quantity=F("quantity") + quantity)
    return product


def _existing_cart(*, user, session) -> Cart:
    cart = cart_get(user=user, session=session)
    if cart is None:
        raise NotFound
    return cart


@retry_once
def cart_set_quantity(*, user, session, product_id: int, quantity: int) -> Product:
    """Set the quantity of a line of the visitor's cart (0 removes the line); return its product."""
    if quantity == 0:
        return cart_remove_item(user=user, session=session, product_id=product_id)
    _check_quantity(quantity)
    cart = _existing_cart(user=user, session=session)
    with transaction.atomic():
        _lock_cart(cart)
        line = CartItem.objects.select_related("product").filter(cart=cart, product_id=product_id).first()
        if line is None:
            raise NotFound
        if not line.product.is_available:
            raise CartError(MSG_UNAVAILABLE.format(name=line.product.name))
        cap, reason = _line_cap(line.product)
        if quantity > cap:
            raise CartError(MSG_LINE_CAP.format(cap=cap, name=line.product.name, reason=reason))
        CartItem.objects.filter(pk=line.pk).update(quantity=quantity)
    return line.product


@retry_once
def cart_remove_item(*, user, session, product_id: int) -> Product:
    """Remove the line for `product_id` from the visitor's cart; return its product."""
    cart = _existing_cart(user=user, session=session)
    with transaction.atomic():
        # The cart first, as in every service: deleting the line first while an
        # add held the cart and waited for the line was a deadlock (issue 10.9).
        _lock_cart(cart)
        line = CartItem.objects.select_related("product").filter(cart=cart, product_id=product_id).first()
        if line is None:
            raise NotFound
        CartItem.objects.filter(pk=line.pk).delete()
    return line.product


@dataclass
class MergeReport:
    """What carrying a guest cart into an account's cart did, for the user to read."""

    carried: list[str] = field(default_factory=list)
    capped: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)
    left_behind: bool = False  # a guest cart of another browser's session, not carried

    @property
    def message(self) -> str:
        if self.left_behind:
            return MSG_CART_LEFT_BEHIND
        if not self.carried:
            return ""
        parts = [f"We carried your cart over: {', '.join(self.carried)}."]
        if self.capped:
            parts.append(f"Quantities were capped for {'; '.join(self.capped)}.")
        if self.unavailable:
            parts.append(f"No longer available, kept but not orderable: {', '.join(self.unavailable)}.")
        return " ".join(parts)


def cart_merge_into_user(*, guest_cart_id: int, user) -> MergeReport:
    """Carry a guest cart's lines into the user's open cart, once."""
    report = MergeReport()
    with transaction.atomic():
        # Locking the guest cart first makes a parallel or replayed merge wait
        # here, then find the cart already merged and do nothing.
        guest = (
            Cart.objects.select_for_update()
            .filter(pk=guest_cart_id, user__isnull=True, status=Cart.Status.OPEN)
            .first()
        )
        if guest is None:
            return report
        target = Cart.objects.get_or_create(user=user, status=Cart.Status.OPEN)[0]
        target = Cart.objects.select_for_update().get(pk=target.pk)
        copies.cart_changed(guest)
        copies.cart_changed(target)
        existing = {line.product_id: line for line in target.items.all()}
        changed = []
        for line in guest.items.select_related("product"):
            product = line.product
            kept = existing.get(product.pk)
            wanted = line.quantity + (kept.quantity if kept else 0)
            if product.is_available:
                cap, reason = _line_cap(product)
            else:
                cap, reason = settings.MAX_LINE_QUANTITY, "the limit per product"
                report.unavailable.append(product.name)
            quantity = min(wanted, cap)
            if quantity < wanted:
                report.capped.append(f"{product.name} to {quantity} ({reason})")
            report.carried.append(f"{line.quantity} × {product.name}")
            if kept:
                kept.quantity = quantity
                changed.append(kept)
            else:
                # Move the guest's line itself, so it keeps its place in the cart.
                line.cart, line.quantity = target, quantity
                changed.append(line)
        CartItem.objects.bulk_update(changed, ["cart", "quantity"])
        guest.items.all().delete()  # what is left are lines summed into the target's
        Cart.objects.filter(pk=guest.pk).update(status=Cart.Status.MERGED, merged_into=target)
        Cart.objects.filter(pk=target.pk).update(updated_at=timezone.now())
    return report


def cart_quantities(*, user, session) -> dict[int, int]:
    """Return {product id: units} of the visitor's cart, in one query (none without a cart).

    One read serves both the header badge (their sum) and the add-to-cart
    forms' bounds, so neither costs a query of its own.
    """
    if settings.SESSION_CACHED:  # the lines' copy, which the summary and cart page read too
        return {line.product_id: line.quantity for line in cart_lines(user=user, session=session)}
    return dict(_open_cart_lines(user=user, session=session).values_list("product_id", "quantity"))


def order_total(lines) -> Decimal:
    """What the lines that can be ordered now cost together."""
    return sum((line.line_total for line in lines if line.product.is_available), Decimal("0.00"))


def cart_lines(*, user, session) -> list[CartItem]:
    """Return the lines of the visitor's open cart with their products, in one query (none without a cart)."""
    found = _visitor_cart(user=user, session=session)
    if found is None:
        return []
    return copies.lines(found[0], lambda: list(_open_cart_lines(user=user, session=session).select_related("product")))


def _new_order_number() -> str:
    return "".join(secrets.choice(ORDER_NUMBER_ALPHABET) for _ in range(ORDER_NUMBER_LENGTH))


def order_place(*, user, address: str = "", site_url: str = "") -> Order:
    """Turn the available lines of the user's cart into an order and take them from stock.

    Once committed, the order confirmation is mailed after the response, with
    links under `site_url` (the request's scheme and host). A mail that fails
    is logged; the order stands.
    """
    with transaction.atomic():
        cart = Cart.objects.select_for_update().filter(user=user, status=Cart.Status.OPEN).first()
        all_lines = list(cart.items.select_related("product").order_by("product_id")) if cart else []
        lines = [line for line in all_lines if line.product.is_available]
        if cart:
            copies.cart_changed(cart)
            copies.catalog_changed()  # the stock taken
        if not lines:
            if all_lines:  # e.g. the last unit went to another buyer a moment ago
                raise CartError(MSG_NOTHING_AVAILABLE.format(names=", ".join(line.product.name for line in all_lines)))
            raise CartError(MSG_EMPTY_ORDER)
        for line in lines:
            # Guarded decrement: the row's current stock decides, not what we read,
            # so two checkouts racing for the last unit cannot both succeed.
            taken = Product.objects.filter(pk=line.product_id, is_active=True, stock__gte=line.quantity).update(
                stock=F("stock") - line.quantity
            )
            if not taken:
                line.product.refresh_from_db(fields=["stock"])
                raise CartError(MSG_OVER_STOCK.format(stock=line.product.stock, name=line.product.name))
        order = Order.objects.create(
            number=_new_order_number(), user=user, address=address, total=sum(line.line_total for line in lines)
        )
        OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                product=line.product,
                product_name=line.product.name,
                unit_price=line.product.price,
                quantity=line.quantity,
            )
            for line in lines
        )
        CartItem.objects.filter(pk__in=[line.pk for line in lines]).delete()
        transaction.on_commit(lambda: after_response(lambda: _order_mail(order=order, site_url=site_url)), robust=True)
    return order


def _order_mail(*, order: Order, site_url: str) -> None:
    mail_send(
        to=[order.user.email],
        subject=f"Your order {order.number}",
        template="order_confirmation",
        context={
            "order": order,
            "lines": order.lines.all(),
            "order_url": site_url + reverse("cart:order_detail", kwargs={"number": order.number}),
        },
    )
