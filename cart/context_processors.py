"""Template context shared by every page."""

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from cart.services import cart_units


def storefront(request):
    """Expose the cart badge (counted only if a template shows it) and the line limit."""
    return {
        "cart_units": SimpleLazyObject(lambda: cart_units(user=request.user, session=request.session)),
        "max_line_quantity": settings.MAX_LINE_QUANTITY,
    }
