"""Template context shared by every page."""

import secrets

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from cart.services import visitor_cart


def storefront(request):
    """Expose the cart badge (counted only if shown), the line limit, shipping and the add forms' request id."""
    return {
        "cart_units": SimpleLazyObject(lambda: visitor_cart(request).units),
        "max_line_quantity": settings.MAX_LINE_QUANTITY,
        "shipping_rate": settings.SHIPPING_FLAT_RATE,
        "shipping_free_from": settings.SHIPPING_FREE_FROM,
        "request_id": SimpleLazyObject(lambda: secrets.token_urlsafe(16)),
    }
