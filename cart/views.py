"""Storefront pages: catalog, cart, checkout and orders."""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.flows.reauth import reauth_required
from cart import services
from cart.forms import CartLineForm
from cart.models import Product
from shopdemo.redirects import safe_next

MSG_UNKNOWN_PRODUCT = "That product does not exist or is no longer sold."
MSG_UNKNOWN_LINE = "That product is not in your cart."


def _cart_context(request, **extra):
    cart = services.cart_get(user=request.user, session=request.session)
    lines = list(cart.items.select_related("product")) if cart else []
    orderable = [line for line in lines if line.product.is_available]
    return {
        "lines": lines,
        "total": sum((line.line_total for line in orderable), Decimal("0.00")),
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
    try:
        change(
            user=request.user,
            session=request.session,
            product_id=form.cleaned_data["product"],
            quantity=form.cleaned_data["quantity"],
        )
    except services.NotFound:
        return _cart_error(request, not_found, status=404)
    except services.CartError as error:
        return _cart_error(request, str(error), status=400)
    messages.success(request, success)
    return HttpResponseRedirect(safe_next(request, default=reverse("cart:detail")))


@require_GET
def catalog(request):
    return render(request, "cart/catalog.html", {"products": Product.objects.filter(is_active=True)})


@require_GET
def product_detail(request, slug):
    product = get_object_or_404(Product, slug=slug, is_active=True)
    return render(request, "cart/product.html", {"product": product})


@require_GET
def cart_detail(request):
    return render(request, "cart/cart.html", _cart_context(request))


@require_POST
def cart_add(request):
    return _change_cart(
        request,
        services.cart_add_item,
        default_quantity=1,
        success="Added to your cart.",
        not_found=MSG_UNKNOWN_PRODUCT,
    )


@require_POST
def cart_update(request):
    return _change_cart(
        request, services.cart_set_quantity, default_quantity=1, success="Cart updated.", not_found=MSG_UNKNOWN_LINE
    )


def _remove(*, quantity, **line):
    services.cart_remove_item(**line)


@require_POST
def cart_remove(request):
    return _change_cart(
        request, _remove, default_quantity=0, success="Removed from your cart.", not_found=MSG_UNKNOWN_LINE
    )


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
