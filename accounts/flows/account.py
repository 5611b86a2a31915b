"""The account's own lifecycle: registration and deletion (email: flows.email, password: flows.password)."""

from django.conf import settings

from accounts import throttle
from accounts.flows.email import email_verification_start
from accounts.flows.sessions import sessions_end
from accounts.flows.sign_in import sign_in
from accounts.monitoring import audit
from cart.services import MergeReport

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
    """Create the account from a valid form, sign it in (with the guest cart), mail the confirmation link."""
    user = form.save()
    report = sign_in(request=request, user=user, remember=False)
    email_verification_start(request=request, user=user)
    return report


def account_delete(*, request) -> None:
    """Delete the signed-in user's account: every session ends, orders stay without a name."""
    user = request.user
    sessions_end(user.sessions.all(), reason="account_deleted", request=request)
    audit.record("account_deleted", request=request, user=None, username=user.get_username())
    user.delete()  # carts and devices go with it; orders keep their lines with user set to null
    request.session.flush()
