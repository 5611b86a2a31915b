"""The order mail's signed link: it opens one guest order without signing in, until GUEST_ORDER_LINK_AGE.

The token is a django.core.signing value under a salt of its own (no other
signed value of the site can stand in for it) naming the order's number and a
keyed digest of its address, never the address in clear. So it opens that
order only, and only while the order keeps the address it was mailed to. No
table of tokens: the signature and its timestamp are the whole state. Its path
is redacted like the reset link's (accounts.monitoring.redact).
"""

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from cart.models import Order

SALT = "cart.order.link"
MSG_BAD_LINK = (
    "This order link does not work: it has expired, or it was not copied whole. Nothing is shown. "
    "The order mail holds the link; if you have an account, your orders are listed there."
)


class OrderLinkInvalid(Exception):
    """The link is expired, forged, mangled or another order's."""


def _digest(email: str) -> str:
    return salted_hmac(SALT, email.strip().lower()).hexdigest()[:24]


def order_link_token(order: Order) -> str:
    """The token of `order`'s link (a guest order: it has an address)."""
    return signing.dumps({"n": order.number, "e": _digest(order.email)}, salt=SALT)


def order_from_link(*, number: str, token: str) -> Order:
    """The guest order that `token` opens, if it is the order `number`; raises OrderLinkInvalid otherwise."""
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.GUEST_ORDER_LINK_AGE)
    except signing.BadSignature:  # SignatureExpired included
        raise OrderLinkInvalid from None
    if not isinstance(data, dict) or data.get("n") != number:
        raise OrderLinkInvalid
    order = Order.objects.exclude(email="").prefetch_related("lines").filter(number=number).first()
    if order is None or not constant_time_compare(_digest(order.email), str(data.get("e", ""))):
        raise OrderLinkInvalid
    return order
