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
    """Expose the cart badge (counted only if a template shows it), the line limit and the add forms' request id."""
    return {
        "cart_units": SimpleLazyObject(lambda: sum(visitor_cart_quantities(request).values())),
        "max_line_quantity": settings.MAX_LINE_QUANTITY,
        "request_id": SimpleLazyObject(lambda: secrets.token_urlsafe(16)),
    }
