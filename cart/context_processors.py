"""Template context shared by every page."""

import secrets

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from cart.services import cart_quantities


def visitor_cart_quantities(request) -> dict[int, int]:
    """The visitor's {product id: units}, read at most once per request (the badge and add forms share it)."""
    if not hasattr(request, "_cart_quantities"):
        request._cart_quantities = cart_quantities(user=request.user, session=request.session)
    return request._cart_quantities


def storefront(request):
    """Expose the cart badge (counted only if shown), the line limit, shipping and the add forms' request id."""
    return {
        "cart_units": SimpleLazyObject(lambda: sum(visitor_cart_quantities(request).values())),
        "max_line_quantity": settings.MAX_LINE_QUANTITY,
        "shipping_rate": settings.SHIPPING_FLAT_RATE,
        "shipping_free_from": settings.SHIPPING_FREE_FROM,
        "request_id": SimpleLazyObject(lambda: secrets.token_urlsafe(16)),
    }
