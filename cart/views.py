"""Storefront pages: catalog, cart, checkout and orders."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import reauth_required
from cart import selectors, services
from cart.context_processors import visitor_cart_quantities
from cart.forms import CartLineForm, CatalogForm
from cart.models import Product
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
    lines = services.cart_lines(user=request.user, session=request.session)
    for line in lines:
        line.max_quantity = services.line_room(product=line.product, in_cart=0)
    orderable = [line for line in lines if line.product.is_available]
    return {
        "lines": lines,
        "total": services.order_total(lines),
        "orderable": bool(orderable),
        **extra,
    }


def _cart_error(request, message: str, status: int):
    """Show the cart, unchanged, with what was wrong with the request."""
    return render(request, "cart/cart.html", _cart_context(request, error=message), status=status)


def _change_cart(request, change, *, default_quantity: int, success: str, not_found: str):
    """Parse a cart line form, apply the `change` service to the visitor's cart, and answer."""
    form = CartLineForm(request.POST, default_quantity=default_quantity)
    if not form.is_valid():
        return _cart_error(request, form.first_error, status=400)
    quantity = form.cleaned_data["quantity"]
    try:
        product = change(
            user=request.user, session=request.session, product_id=form.cleaned_data["product"], quantity=quantity
        )
    except services.NotFound:
        return _cart_error(request, not_found, status=404)
    except services.CartConflict as error:
        return _cart_error(request, str(error), status=409)
    except services.CartError as error:
        return _cart_error(request, str(error), status=400)
    messages.success(request, (MSG_REMOVED if quantity == 0 else success).format(quantity=quantity, name=product.name))
    return HttpResponseRedirect(safe_next(request, default=reverse("cart:detail")))


def _with_room(request, products):
    """Mark each product with how many more units the visitor's cart can take (the add form's max)."""
    held = visitor_cart_quantities(request)
    for product in products:
        product.in_cart = held.get(product.pk, 0)
        product.room = services.line_room(product=product, in_cart=product.in_cart)
    return products


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
        "cards_key": [(p.pk, p.slug, p.name, p.price, p.stock, None if p.room else p.in_cart) for p in products],
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
            raise services.CartError(form.first_error)
        quantity = form.cleaned_data["quantity"]
        product = services.cart_add_item(
            user=request.user,
            session=request.session,
            product_id=form.cleaned_data["product"],
            quantity=quantity,
            request_id=form.cleaned_data["request_id"],
        )
    except services.NotFound:
        return _cart_error(request, MSG_UNKNOWN_PRODUCT, status=404)
    except services.CartError as error:
        product = _posted_product(form)
        if product is None:
            return _cart_error(request, str(error), status=400)
        return _product_page(request, product, status=400, error=str(error))
    messages.success(request, MSG_ADDED.format(quantity=quantity, name=product.name), extra_tags=ADDED_TAG)
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
            "total": str(context["total"]),
        }
    )


def _place_order(request):
    try:
        order = services.order_place(
            user=request.user,
            address=request.POST.get("address", "").strip()[:500],
            site_url=request.build_absolute_uri("/").rstrip("/"),
        )
    except services.CartError as error:
        return render(request, "cart/checkout.html", _cart_context(request, error=str(error)), status=409)
    messages.success(request, f"Thank you! Order {order.number} is placed.")
    return redirect("cart:order_detail", number=order.number)


@login_required
@require_http_methods(["GET", "POST"])
def checkout(request):
    """GET: the order to confirm (lines, total, address). POST: place it, after a recent re-authentication."""
    if request.method == "POST":
        return reauth_required(_place_order)(request)
    last = request.user.orders.exclude(address="").values_list("address", flat=True).first()
    return render(request, "cart/checkout.html", _cart_context(request, address=last or ""))


@login_required
@require_GET
def order_list(request):
    return render(request, "cart/orders.html", {"orders": request.user.orders.prefetch_related("lines")})


@login_required
@require_GET
def order_detail(request, number):
    order = get_object_or_404(request.user.orders.prefetch_related("lines"), number=number)
    return render(request, "cart/order.html", {"order": order})
