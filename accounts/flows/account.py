"""The account's own lifecycle: registration and deletion (email: flows.email, password: flows.password)."""

from django.conf import settings

from accounts import throttle
from accounts.flows.email import ORDERS_CLAIMED, email_verification_start
from accounts.flows.sessions import sessions_end
from accounts.flows.sign_in import sign_in, started_in_this_browser
from accounts.monitoring import audit
from accounts.sessions.policy import GUEST_ORDERS_SESSION_KEY
from cart.services import MergeReport, order_claim_placed

REGISTER_THROTTLED = "authn_register_throttled"
REGISTER_WINDOW = 3600


def account_register_allowed(*, request) -> bool:
    """Count a registration attempt from the request's network; False once this hour's are used up.

    Usernames are public handles, so the form may say one is taken; this
    bounds how fast anyone can ask (V6.3.8), each network on its own count
    (accounts.throttle): nobody can use up the others'. The first refused
    attempt of an hour records the burst.
    """
    attempts = throttle.hit("register", request=request, window=REGISTER_WINDOW)
    limit = settings.REGISTRATION_PER_IP_PER_HOUR
    if attempts == limit + 1:
        audit.record(REGISTER_THROTTLED, request=request, attempts=attempts, window_seconds=REGISTER_WINDOW)
    return attempts <= limit


def account_register(*, request, form) -> MergeReport:
    """Create the account from a valid form, sign it in (with the guest cart and orders), mail the confirmation link.

    The guest orders this browser placed become the account's at once, under the
    rule that carries the cart: a session planted from another browser brings none.
    Orders placed elsewhere with the address wait for its confirmation (flows.email).
    """
    user = form.save()
    session = request.session
    placed = session.pop(GUEST_ORDERS_SESSION_KEY, [])
    if not started_in_this_browser(session):
        placed = []
    report = sign_in(request=request, user=user, remember=False)
    if claimed := order_claim_placed(user=user, numbers=placed):
        audit.record(ORDERS_CLAIMED, request=request, user=user, count=claimed, reason="placed_in_this_browser")
    email_verification_start(request=request, user=user)
    return report


def account_delete(*, request) -> None:
    """Delete the signed-in user's account: every session ends, orders stay without a name."""
    user = request.user
    sessions_end(user.sessions.all(), reason="account_deleted", request=request)
    audit.record("account_deleted", request=request, user=None, username=user.get_username())
    user.delete()  # carts and devices go with it; orders keep their lines with user set to null
    request.session.flush()
