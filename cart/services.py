"""Cart and order writes: each function is one transaction.

Lock order, the same in every service so that two of them can never wait on
each other: the cart row first (_lock_cart), then its lines, then products.
"""

import functools
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from accounts.ip import client_ip
from accounts.models import AuditEvent, Session
from accounts.monitoring import audit
from accounts.sessions.policy import CART_SESSION_KEY, GUEST_ORDERS_SESSION_KEY, duration_text
from accounts.sessions.purge import DEFAULT_BATCH_SIZE, delete_in_batches, no_progress
from cart import copies, order_links
from cart.models import Cart, CartItem, CartOwner, Order, OrderLine, Product
from shopdemo.mail import mail_send, mail_task

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
MSG_GUEST_THROTTLED = (
    "Too many orders without an account came from your network in the last hour. "
    "Please try again later, or sign in to order."
)
ORDER_PLACED, GUEST_THROTTLED = "order_placed", "order_guest_throttled"
GUEST_ORDERS_KEPT = 20  # orders a guest session keeps the numbers of; the throttle keeps far fewer


class CartError(Exception):
    """A cart or order change that cannot be made; the message is for the user.

    `product` is the product the change was refused for, when one was found, so the
    page that says why can show it without reading it again.
    """

    def __init__(self, message: str, *, product: Product | None = None):
        super().__init__(message)
        self.product = product


class OrderThrottled(CartError):
    """Guest orders from the request's address are over GUEST_ORDERS_PER_IP_PER_HOUR (answered with 429)."""


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
        raise CartError(MSG_LINE_CAP.format(cap=cap, name=product.name, reason=reason) + held_text, product=product)


def _check_quantity(quantity: int, product: Product | None = None) -> None:
    if not 1 <= quantity <= settings.MAX_LINE_QUANTITY:
        raise CartError(MSG_QUANTITY_RANGE.format(max=settings.MAX_LINE_QUANTITY), product=product)


def _copy_key(owner: CartOwner) -> str | None:
    """The owner's cart's name in cart.copies (None: a guest without a cart)."""
    if owner.user is not None:
        return copies.owner_key(user_id=owner.user.pk)
    if (cart_id := owner.guest_cart_id) is None:
        return None
    return copies.owner_key(cart_id=cart_id)


def _open_cart_lines(owner: CartOwner):
    """The lines of the owner's open cart as a queryset (empty for a guest without a cart)."""
    return CartItem.objects.filter(cart__in=Cart.objects.open_for(owner))


def cart_get(*, owner: CartOwner) -> Cart | None:
    """Return the owner's open cart, or None; never creates a cart or a session."""
    return Cart.objects.open_for(owner).first()


def cart_get_or_create(*, owner: CartOwner) -> Cart:
    """Return the owner's open cart, creating it (and a guest's session) if needed."""
    cart = cart_get(owner=owner)
    if cart is not None:
        return cart
    if owner.user is not None:
        return Cart.objects.get_or_create(user=owner.user, status=Cart.Status.OPEN)[0]
    cart = Cart.objects.create()
    owner.session[CART_SESSION_KEY] = cart.pk  # the first add-to-cart is what creates a guest's session
    return cart


def _record_request(cart: Cart, request_id: str, product: Product) -> bool:
    """Record this add of `product` as applied to the locked cart; False (and no write) if it already was: a resend.

    Keyed by product too: a catalog page's one add form carries one request_id for every card.
    """
    add = f"{request_id}:{product.pk}"
    recent = Cart.objects.filter(pk=cart.pk).values_list("recent_requests", flat=True).get().split()
    if add in recent:
        return False
    kept = " ".join([*recent[1 - RECENT_REQUESTS :], add])
    Cart.objects.filter(pk=cart.pk).update(recent_requests=kept)
    return True


@retry_once
def cart_add_item(*, owner: CartOwner, product_id: int, quantity: int, request_id: str = "") -> Product:
    """Add `quantity` units of an active product to the owner's cart, creating it if needed; return the product.

    An add of the same product with the `request_id` of one already applied to the cart
    changes nothing and answers as the first did: its form was sent twice.
    """
    # With its category: a refused add shows the product's page (CartError.product).
    product = Product.objects.select_related("category").filter(pk=product_id, is_active=True).first()
    if product is None:
        raise NotFound
    _check_quantity(quantity, product)
    if not product.stock:
        raise CartError(MSG_SOLD_OUT.format(name=product.name), product=product)
    # More than the cap is refused whatever the cart holds: checked before a
    # guest's cart exists, so a refused add never creates a session.
    _refuse_over_cap(product, held=0, quantity=quantity)
    # Only now, with the input known good, may a guest's cart and session be created.
    cart = cart_get_or_create(owner=owner)
    with transaction.atomic():
        # Parallel adds queue on the lock instead of reading the same line and
        # losing each other's units.
        _lock_cart(cart)
        if request_id and not _record_request(cart, request_id, product):
            return product
        line = CartItem.objects.filter(cart=cart, product=product).first()
        _refuse_over_cap(product, held=line.quantity if line else 0, quantity=quantity)
        if line is None:
            CartItem.objects.create(cart=cart, product=product, quantity=quantity)
        else:
            CartItem.objects.filter(pk=line.pk).update(quantity=F("quantity") + quantity)
    return product


def _existing_cart(owner: CartOwner) -> Cart:
    cart = cart_get(owner=owner)
    if cart is None:
        raise NotFound
    return cart


@retry_once
def cart_set_quantity(*, owner: CartOwner, product_id: int, quantity: int) -> Product:
    """Set the quantity of a line of the owner's cart (0 removes the line); return its product."""
    if quantity == 0:
        return cart_remove_item(owner=owner, product_id=product_id)
    _check_quantity(quantity)
    cart = _existing_cart(owner)
    with transaction.atomic():
        _lock_cart(cart)
        line = CartItem.objects.select_related("product").filter(cart=cart, product_id=product_id).first()
        if line is None:
            raise NotFound
        if not line.product.is_available:
            raise CartError(MSG_UNAVAILABLE.format(name=line.product.name), product=line.product)
        cap, reason = _line_cap(line.product)
        if quantity > cap:
            raise CartError(MSG_LINE_CAP.format(cap=cap, name=line.product.name, reason=reason), product=line.product)
        CartItem.objects.filter(pk=line.pk).update(quantity=quantity)
    return line.product


@retry_once
def cart_remove_item(*, owner: CartOwner, product_id: int) -> Product:
    """Remove the line for `product_id` from the owner's cart; return its product."""
    cart = _existing_cart(owner)
    with transaction.atomic():
        # The cart first, as in every service: deleting the line first while an
        # add held the cart and waited for the line would deadlock with it.
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


def cart_quantities(*, owner: CartOwner) -> dict[int, int]:
    """Return {product id: units} of the owner's cart, in one query (none without a cart).

    One read serves both the header badge (their sum) and the add-to-cart
    forms' bounds, so neither costs a query of its own; it is the lines' copy,
    which the summary and cart page read too (shopdemo.cache).
    """
    return {line.product_id: line.quantity for line in cart_lines(owner=owner)}


def order_total(lines) -> Decimal:
    """What the lines that can be ordered now cost together."""
    return sum((line.line_total for line in lines if line.product.is_available), Decimal("0.00"))


def cart_lines(*, owner: CartOwner) -> list[CartItem]:
    """Return the lines of the owner's open cart with their products, in one query (none without a cart)."""
    key = _copy_key(owner)
    if key is None:
        return []
    return copies.lines(key, lambda: list(_open_cart_lines(owner).select_related("product")))


class VisitorCart:
    """The visitor's cart for one request, read at most once, and only if something asks (Oscar's lazy basket).

    The header badge, the add forms' bounds and the cart pages all read this one object,
    so a page pays for the cart once: the lines if a page shows them (the badge then sums
    those), else the {product: units} the badge and the add forms need.
    """

    def __init__(self, owner: CartOwner):
        self.owner = owner

    @functools.cached_property
    def lines(self) -> list[CartItem]:
        return cart_lines(owner=self.owner)

    @functools.cached_property
    def quantities(self) -> dict[int, int]:
        if "lines" in self.__dict__:
            return {line.product_id: line.quantity for line in self.lines}
        return cart_quantities(owner=self.owner)

    @property
    def units(self) -> int:
        return sum(self.quantities.values())


def visitor_cart(request) -> VisitorCart:
    """The request's visitor's cart, resolved once per request (views and the context processor share it).

    A sign-in during the request makes a new owner, and so a new read.
    """
    owner = CartOwner.of(request)
    memo = getattr(request, "_visitor_cart", None)
    if memo is None or memo.owner != owner:
        memo = request._visitor_cart = VisitorCart(owner)
    return memo


def carts_abandoned(*, now):
    """Guest carts, open or merged, untouched for as long as a guest session lives and held by no session.

    A guest who keeps browsing keeps the cart: the session row names it, whatever its age.
    """
    return Cart.objects.filter(
        user__isnull=True, updated_at__lt=now - timedelta(seconds=settings.GUEST_SESSION_AGE)
    ).exclude(pk__in=Session.objects.filter(guest_cart_id__isnull=False).values("guest_cart_id"))


def cart_purge_abandoned(*, now, batch_size: int = DEFAULT_BATCH_SIZE, on_batch=no_progress) -> int:
    """Delete the abandoned guest carts (with their lines) in short batches; return how many carts."""
    return delete_in_batches(carts_abandoned(now=now), batch_size, on_batch, forget=copies.carts_purged)


def shipping_for(*, subtotal: Decimal, delivered: bool = True) -> Decimal:
    """What shipping costs on `subtotal`: the flat rate, nothing from SHIPPING_FREE_FROM on or when collected."""
    if not delivered or not subtotal or subtotal >= settings.SHIPPING_FREE_FROM:
        return Decimal("0.00")
    return settings.SHIPPING_FLAT_RATE


def _new_order_number() -> str:
    return "".join(secrets.choice(ORDER_NUMBER_ALPHABET) for _ in range(ORDER_NUMBER_LENGTH))


def _guest_orders_this_hour(request) -> int:
    """Guest orders placed from the request's address in the last hour (the audit trail counts them)."""
    return AuditEvent.objects.filter(
        event=ORDER_PLACED,
        ip=client_ip(request),
        details__guest=True,
        created_at__gte=timezone.now() - timedelta(hours=1),
    ).count()


def order_place(
    *, owner: CartOwner, email: str = "", address: str = "", site_url: str = "", request_id: str = "", request=None
) -> Order:
    """Turn the available lines of the owner's cart into an order and take them from stock.

    A guest's order records `email`, is throttled per IP of the `request`
    (GUEST_ORDERS_PER_IP_PER_HOUR; OrderThrottled) and is kept in the guest's
    session, so its browser may open it. `request` is None only outside HTTP
    (a command, a direct test call).

    An order already placed from the checkout form `request_id` by this owner is
    returned as it is: the form was sent again (a retry after an error page, a double click).

    The order confirmation is queued with it (db_worker mails it, with links
    under `site_url`: shopdemo.links.site_url, SITE_URL or the request's host). A relay that fails
    delays the mail, never the order.
    """
    guest = owner.user is None
    if guest and request is not None and _guest_orders_this_hour(request) >= settings.GUEST_ORDERS_PER_IP_PER_HOUR:
        audit.record(GUEST_THROTTLED, request=request, limit=settings.GUEST_ORDERS_PER_IP_PER_HOUR)
        raise OrderThrottled(MSG_GUEST_THROTTLED)
    with transaction.atomic():
        cart = Cart.objects.open_for(owner).select_for_update().first()
        # After the cart's lock: a second send of the form waits for the first and then finds its order.
        placed = _placed_from_form(owner, request_id)
        if placed is not None:
            return placed
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
        subtotal = sum(line.line_total for line in lines)
        shipping = shipping_for(subtotal=subtotal, delivered=bool(address))
        order = Order.objects.create(
            number=_new_order_number(),
            user=owner.user,
            email=email if guest else "",
            address=address,
            shipping=shipping,
            total=subtotal + shipping,
            request_id=request_id,
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
        audit.record(ORDER_PLACED, request=request, number=order.number, guest=guest)
        # In the order's own transaction: a rolled-back order queues nothing, a committed one always its mail.
        mail_order_confirmation.enqueue(order_id=order.pk, site_url=site_url)
    if guest:
        placed = owner.session.get(GUEST_ORDERS_SESSION_KEY, [])
        owner.session[GUEST_ORDERS_SESSION_KEY] = [*placed[1 - GUEST_ORDERS_KEPT :], order.number]
    return order


def _placed_from_form(owner: CartOwner, request_id: str) -> Order | None:
    """The owner's order already placed from the checkout form `request_id`, if any."""
    if not request_id:
        return None
    if owner.user is not None:
        return Order.objects.filter(user=owner.user, request_id=request_id).first()
    numbers = owner.session.get(GUEST_ORDERS_SESSION_KEY, [])
    return Order.objects.filter(user__isnull=True, number__in=numbers, request_id=request_id).first()


@mail_task
def mail_order_confirmation(*, order_id: int, site_url: str) -> None:
    """The order confirmation: to the account's address, or the guest's with the signed link to the order."""
    order = Order.objects.select_related("user").filter(pk=order_id).first()
    if order is None or not (order.email or order.user):  # the account was deleted since: nobody to tell
        return
    if order.is_guest:
        path = reverse("cart:order_link", kwargs={"number": order.number, "token": order_links.order_link_token(order)})
    else:
        path = reverse("cart:order_detail", kwargs={"number": order.number})
    mail_send(
        to=[order.email or order.user.email],
        subject=f"Your order {order.number}",
        template="order_confirmation",
        from_email=settings.SHOP_FROM_EMAIL,
        context={
            "order": order,
            "lines": order.lines.all(),
            "order_url": site_url + path,
            "link_valid_for": duration_text(settings.GUEST_ORDER_LINK_AGE) if order.is_guest else "",
        },
    )


def order_claim_for_address(*, user, address: str) -> int:
    """Give `user` the guest orders placed with `address` that no account took yet; return how many.

    Only for an address the account has just confirmed: whoever merely types
    someone's address claims nothing. An order claimed once stays claimed, even
    by an account deleted since.
    """
    if not address:
        return 0
    return Order.objects.unclaimed_guest().filter(email__iexact=address).update(user=user, claimed_at=timezone.now())


def order_claim_placed(*, user, numbers: list[str]) -> int:
    """Give `user` the guest orders that its browser's guest session placed (`numbers`); return how many."""
    if not numbers:
        return 0
    return Order.objects.unclaimed_guest().filter(number__in=numbers).update(user=user, claimed_at=timezone.now())
