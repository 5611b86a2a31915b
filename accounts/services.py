"""Sign-in and registration: the session and cart consequences, in one place."""
from django.conf import settings
from django.contrib.auth import login

from accounts.session_policy import REMEMBER
from cart.services import CART_SESSION_KEY, MergeReport, cart_merge_into_user

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def account_sign_in(*, request, user, remember: bool) -> MergeReport:
    """Sign `user` in on a new session key and carry the guest cart into the account."""
    # Read before login(): it gives the session a new key (ASVS V7.2.4), and the
    # cart must follow the visitor, not the old key.
    guest_cart_id = request.session.get(CART_SESSION_KEY)
    login(request, user, backend=getattr(user, "backend", MODEL_BACKEND))
    request.session.pop(CART_SESSION_KEY, None)
    # The server enforces the limits (accounts.session_policy); the cookie only
    # decides whether the browser keeps the session when it closes.
    request.session[REMEMBER] = remember
    request.session.set_expiry(settings.SESSION_REMEMBER_IDLE if remember else 0)
    if guest_cart_id is None:
        return MergeReport()
    return cart_merge_into_user(guest_cart_id=guest_cart_id, user=user)

