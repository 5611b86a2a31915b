"""Storefront pages: catalog, cart, checkout and orders."""

import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import reauth_required
from cart import order_links, selectors, services
from cart.forms import CartLineForm, CatalogForm, CheckoutForm, GuestCheckoutForm
from cart.models import Product
from shopdemo import links
from shopdemo.redirects import safe_next

MSG_UNKNOWN_PRODUCT = "That product does not exist or is no longer sold."
MSG_UNKNOWN_LINE = "That product is not in your cart."
MSG_UNKNOWN_CATEGORY = "There is no category by that name."
MSG_ADDED = "Added {quantity} × {name}."
MSG_UPDATED = "Your cart now holds {quantity} × {name}."
MSG_REMOVED = "Removed {name} from your cart."
# The base template shows a "View cart" link beside messages with this tag.
ADDED_TAG = "added-to-cart"


def _cart_context(request, **extra):
    lines = services.visitor_cart(request).lines
    for line in lines:
        line.max_quantity = services.line_room(product=line.product, in_cart=0)
    orderable = [line for line in lines if line.product.is_available]
    subtotal = services.order_total(lines)
    shipping = services.shipping_for(subtotal=subtotal)
    return {
        "lines": lines,
        "subtotal": subtotal,
        "shipping": shipping,
        "total": subtotal + shipping,
        "orderable": bool(orderable),
        **extra,
    }


def _wants_json(request) -> bool:
    """The page's script asked (Accept: application/json); a plain form post gets the redirect."""
    return "application/json" in request.headers.get("Accept", "")


def _cart_json(request, message: str, **extra) -> JsonResponse:
    """What the script needs after a change: the message, the badge's count and the cart's sums."""
    context = _cart_context(request)
    return JsonResponse(
        {
            "message": message,
            "count": sum(line.quantity for line in context["lines"]),
            "lines": {str(line.product_id): str(line.line_total) for line in context["lines"]},
            "subtotal": str(context["subtotal"]),
            "shipping": str(context["shipping"]),
            "total": str(context["total"]),
            **extra,
        }
    )


def _cart_error(request, message: str, status: int):
    """Show the cart, unchanged, with what was wrong with the request."""
    if _wants_json(request):
        return JsonResponse({"error": message}, status=status)
    return render(request, "cart/cart.html", _cart_context(request, error=message), status=status)


def _change_cart(request, change, *, default_quantity: int, success: str, not_found: str):
    """Parse a cart line form, apply the `change` service to the visitor's cart, and answer."""
    form = CartLineForm(request.POST, default_quantity=default_quantity)
    if not form.is_valid():
        return _cart_error(request, form.first_error, status=400)
    quantity = form.cleaned_data["quantity"]
    try:
        owner = services.visitor_cart(request).owner
        product = change(owner=owner, product_id=form.cleaned_data["product"], quantity=quantity)
    except services.NotFound:
        return _cart_error(request, not_found, status=404)
    except services.CartConflict as error:
        return _cart_error(request, str(error), status=409)
    except services.CartError as error:
        return _cart_error(request, str(error), status=400)
    message = (MSG_REMOVED if quantity == 0 else success).format(quantity=quantity, name=product.name)
    if _wants_json(request):
        return _cart_json(request, message, product=product.pk, quantity=quantity)
    messages.success(request, message)
    return HttpResponseRedirect(safe_next(request, default=reverse("cart:detail")))


def _with_room(request, products):
    """Mark each product with how many more units the visitor's cart can take (the add form's max)."""
    held = services.visitor_cart(request).quantities
    for product in products:
        product.in_cart = held.get(product.pk, 0)
        product.room = services.line_room(product=product, in_cart=product.in_cart)
    return products


def _room(request, product) -> dict:
    """How many units of `product` the cart holds and can still take, for the add form's hint and max."""
    product = _with_room(request, [product])[0]
    return {"product": product.pk, "in_cart": product.in_cart, "room": product.room}


@require_GET
def catalog(request):
    form = CatalogForm(request.GET)
    filters = form.filters()
    error, status = (form.first_error, 400) if form.errors else (None, 200)
    found = selectors.catalog_list(**filters)
    current = next(
        (choice.category for choice in found.categories if choice.category.slug == filters["category"]), None
    )
    if filters["category"] and current is None:
        error, status = MSG_UNKNOWN_CATEGORY, 404

    def chip(label, count, slug):
        query = urlencode({key: value for key, value in {**filters, "category": slug}.items() if value})
        return {
            "label": label,
            "count": count,
            "url": f"?{query}" if query else reverse("cart:catalog"),
            "current": slug == filters["category"],
        }

    chips = [
        chip("All", found.matching, ""),
        *(chip(c.category.name, c.count, c.category.slug) for c in found.categories),
    ]
    context = {
        "filters": filters,
        "catalog": found,
        "chips": chips,
        "products": (products := _with_room(request, found.products)),
        # What each card shows: its product's fields and, for a line the cart cannot grow, the units held.
        "cards_key": [
            (p.pk, p.slug, p.name, p.price, p.stock, p.picture, None if p.room else p.in_cart) for p in products
        ],
        "current_category": current,
        "sorts": [(value, label) for value, (label, _) in selectors.SORTS.items()],
        "error": error,
    }
    return render(request, "cart/catalog.html", context, status=status)


def _product_page(request, product, *, status=200, **extra):
    context = {
        "product": _with_room(request, [product])[0],
        "related": _with_room(request, selectors.product_related(product=product)),
        "next_url": reverse("cart:product", args=[product.slug]),
        **extra,
    }
    return render(request, "cart/product.html", context, status=status)


@require_GET
def product_detail(request, slug):
    return _product_page(
        request, get_object_or_404(Product.objects.select_related("category"), slug=slug, is_active=True)
    )


@require_GET
def cart_detail(request):
    return render(request, "cart/cart.html", _cart_context(request))


def _posted_product(form) -> Product | None:
    """The product a form that did not validate names, if it names an active one (to show its page)."""
    product_id = form.cleaned_data.get("product")
    return (
        Product.objects.select_related("category").filter(pk=product_id, is_active=True).first() if product_id else None
    )


@require_POST
def cart_add(request):
    """Add to the cart; a refused add shows the product page again, with the reason (and creates no session)."""
    form = CartLineForm(request.POST, default_quantity=1)
    try:
        if not form.is_valid():
            raise services.CartError(form.first_error, product=_posted_product(form))
        quantity = form.cleaned_data["quantity"]
        product = services.cart_add_item(
            owner=services.visitor_cart(request).owner,
            product_id=form.cleaned_data["product"],
            quantity=quantity,
            request_id=form.cleaned_data["request_id"],
        )
    except services.NotFound:
        return _cart_error(request, MSG_UNKNOWN_PRODUCT, status=404)
    except services.CartConflict as error:
        return _cart_error(request, str(error), status=409)
    except services.CartError as error:
        if error.product is None:
            return _cart_error(request, str(error), status=400)
        if _wants_json(request):
            return JsonResponse({"error": str(error), **_room(request, error.product)}, status=400)
        return _product_page(request, error.product, status=400, error=str(error))
    message = MSG_ADDED.format(quantity=quantity, name=product.name)
    if _wants_json(request):
        # A fresh request id: the page stays, and its next add is a new add, not this one sent again.
        return _cart_json(request, message, request_id=secrets.token_urlsafe(16), **_room(request, product))
    messages.success(request, message, extra_tags=ADDED_TAG)
    return HttpResponseRedirect(safe_next(request, default=reverse("cart:detail")))


@require_POST
def cart_update(request):
    return _change_cart(
        request, services.cart_set_quantity, default_quantity=1, success=MSG_UPDATED, not_found=MSG_UNKNOWN_LINE
    )


def _remove(*, quantity, **line):
    return services.cart_remove_item(**line)


@require_POST
def cart_remove(request):
    return _change_cart(request, _remove, default_quantity=0, success=MSG_REMOVED, not_found=MSG_UNKNOWN_LINE)


@require_GET
def cart_summary(request):
    context = _cart_context(request)
    return JsonResponse(
        {
            "count": sum(line.quantity for line in context["lines"]),
            "lines": [
                {
                    "product": line.product_id,
                    "slug": line.product.slug,
                    "quantity": line.quantity,
                    "unit_price": str(line.product.price),
                    "available": line.product.is_available,
                }
                for line in context["lines"]
            ],
            "total": str(context["subtotal"]),  # the lines' sum, as the contract says; shipping comes at checkout
        }
    )


def _place_order(request, **given):
    """Place the visitor's order with what was `given` (address; a guest's email) and go to its page, or say why not."""
    try:
        order = services.order_place(
            owner=services.visitor_cart(request).owner,
            site_url=links.site_url(request),
            request=request,
            **given,
        )
    except services.OrderThrottled as error:
        return _checkout_page(request, error=str(error), status=429)
    except services.CartError as error:
        return _checkout_page(request, error=str(error), status=409)
    messages.success(request, f"Thank you! Order {order.number} is placed.")
    return redirect("cart:order_detail", number=order.number)


def _place_account_order(request):
    form = CheckoutForm(request.POST)
    if not form.is_valid():
        return _checkout_page(request, error=form.first_error, address=request.POST.get("address", ""), status=400)
    return _place_order(
        request, address=form.cleaned_data["address"].strip(), request_id=form.cleaned_data["request_id"]
    )


def _checkout_page(request, *, status=200, **extra):
    """The order to confirm; a guest's with the ways on: sign in, or continue with an email address."""
    if request.user.is_authenticated:
        last = request.user.orders.exclude(address="").values_list("address", flat=True).first()
        extra.setdefault("address", last or "")
    else:
        extra.setdefault("guest_form", GuestCheckoutForm())
    return render(request, "cart/checkout.html", _cart_context(request, **extra), status=status)


@require_http_methods(["GET", "POST"])
def checkout(request):
    """GET: the order to confirm. POST: place it (signed in: after a recent re-authentication; a guest: with email)."""
    if request.user.is_authenticated:
        return reauth_required(_place_account_order)(request) if request.method == "POST" else _checkout_page(request)
    if not settings.GUEST_CHECKOUT or services.visitor_cart(request).owner.guest_cart_id is None:
        return redirect_to_login(request.get_full_path())  # nothing to check out as a guest: sign in as before
    if request.method == "GET":
        return _checkout_page(request)
    form = GuestCheckoutForm(request.POST)
    if not form.is_valid():
        return _checkout_page(request, guest_form=form, status=400)
    data = form.cleaned_data
    return _place_order(request, email=data["email"], address=data["address"].strip(), request_id=data["request_id"])


# The footer's pages: plain templates under cart/pages/.
SHOP_PAGES = {"delivery": "Delivery and returns", "privacy": "Privacy", "contact": "Contact"}


@require_GET
def shop_page(request, name):
    if name not in SHOP_PAGES:
        raise Http404("There is no such page.")
    return render(
        request, f"cart/pages/{name}.html", {"title": SHOP_PAGES[name], "audit_days": settings.AUDIT_RETENTION_DAYS}
    )


@login_required
@require_GET
def order_list(request):
    return render(request, "cart/orders.html", {"orders": request.user.orders.prefetch_related("lines")})


@never_cache
@require_GET
def order_detail(request, number):
    """The order's page, for the account that owns it or the guest session that placed it."""
    order = selectors.visitor_orders(request).prefetch_related("lines").filter(number=number).first()
    if order is None and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())  # the same for every number: nothing is revealed
    if order is None:
        raise Http404
    return _order_page(request, order)


def _order_page(request, order, **extra):
    # A guest is offered an account with the order's address filled in, landing on the orders it then lists.
    register_query = urlencode({"email": order.email, "next": reverse("cart:orders")})
    return render(request, "cart/order.html", {"order": order, "register_query": register_query, **extra})


@never_cache
@require_GET
def order_link(request, number, token):
    """The order mail's signed link: the guest order, without signing in, until GUEST_ORDER_LINK_AGE."""
    try:
        order = order_links.order_from_link(number=number, token=token)
    except order_links.OrderLinkInvalid:
        return render(request, "cart/order_link_failed.html", {"bad_link": order_links.MSG_BAD_LINK}, status=404)
    return _order_page(request, order, via_link=True)
