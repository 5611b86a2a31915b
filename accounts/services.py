"""Sign-in, the MFA step and re-authentication: the session and cart consequences, in one place."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.utils import timezone
from django_otp import login as otp_login

from accounts.monitoring import audit, security
from accounts.sessions import dbsc
from accounts.sessions.policy import MFA_PENDING, REAUTH_AT, REMEMBER
from cart.services import CART_SESSION_KEY, MergeReport, cart_merge_into_user

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def account_sign_in(*, request, user, remember: bool) -> MergeReport:
    """Sign `user` in on a new session key and carry the guest cart into the account."""
    # Read before login(): it gives the session a new key (ASVS V7.2.4), and the
    # cart must follow the visitor, not the old key.
    guest_cart_id = request.session.get(CART_SESSION_KEY)
    login(request, user, backend=getattr(user, "backend", MODEL_BACKEND))
    request.session.pop(CART_SESSION_KEY, None)
    # The server enforces the limits (accounts.sessions.policy); the cookie only
    # decides whether the browser keeps the session when it closes.
    request.session[REMEMBER] = remember
    request.session.set_expiry(settings.SESSION_REMEMBER_IDLE if remember else 0)
    dbsc.offer_registration(request)
    if guest_cart_id is None:
        return MergeReport()
    return cart_merge_into_user(guest_cart_id=guest_cart_id, user=user)


@dataclass(frozen=True)
class PendingMFA:
    """A visitor whose password was right and whose OTP step is outstanding."""

    user: object
    remember: bool


def account_start_mfa(*, request, user, remember: bool) -> None:
    """Remember, in the still-anonymous session, whose OTP step comes next."""
    request.session[MFA_PENDING] = {"user": user.pk, "at": timezone.now().timestamp(), "remember": remember}


def account_pending_mfa(*, request) -> PendingMFA | None:
    """Return the pending OTP step, or None if there is none or it has expired."""
    pending = request.session.get(MFA_PENDING)
    if not pending:
        return None
    if timezone.now().timestamp() - pending["at"] > settings.MFA_PENDING_SECONDS:
        del request.session[MFA_PENDING]
        return None
    user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    return PendingMFA(user=user, remember=pending["remember"]) if user else None


def account_finish_mfa(*, request, pending: PendingMFA, device) -> MergeReport:
    """Complete an MFA sign-in: only now is the user signed in and the guest cart carried over."""
    del request.session[MFA_PENDING]
    report = account_sign_in(request=request, user=pending.user, remember=pending.remember)
    otp_login(request, device)
    return report


def account_reauthenticate(*, request, device=None) -> None:
    """Mark the user as just authenticated for critical actions, on a new session key (V7.2.4)."""
    request.session.cycle_key()
    request.session[REAUTH_AT] = timezone.now().timestamp()
    if device is not None:
        otp_login(request, device)
    audit.record("authn_reauthenticated", request=request, mfa=device is not None)


def account_delete(*, request) -> None:
    """Delete the signed-in user's account: every session ends, orders stay without a name."""
    user = request.user
    security.end_user_sessions(user=user, reason="account_deleted", request=request)
    audit.record("account_deleted", request=request, user=None, username=user.get_username())
    user.delete()  # carts and devices go with it; orders keep their lines with user set to null
    request.session.flush()
