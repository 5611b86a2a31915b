"""Signing in and out: the password step, the OTP step, and the guest cart carried into the account."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model, login, logout
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from accounts import backend_paths
from accounts.flows.mfa import mfa_check_code
from accounts.monitoring import audit, security
from accounts.sessions import dbsc
from accounts.sessions import policy as session_policy
from cart.services import MergeReport, cart_merge_into_user

# The second factor of a sign-in, by the device that proved it.
SECOND_FACTORS = {TOTPDevice: "totp", StaticDevice: "recovery_code", WebAuthnCredential: "passkey"}


def sign_in(*, request, user, remember: bool, method: str = session_policy.PASSWORD) -> MergeReport:
    """Sign `user` in on a new session key and carry the guest cart into the account.

    Every sign-in goes through here, whatever proved it (`method`, a key of
    session_policy.AUTH_METHODS): password, password and a second factor, passkey.
    """
    # Read before login(): it gives the session a new key (ASVS V7.2.4), and the
    # cart must follow the visitor, not the old key.
    guest_cart_id = request.session.get(session_policy.CART_SESSION_KEY)
    planted = guest_cart_id is not None and not started_in_this_browser(request.session)
    login(request, user, backend=getattr(user, "backend", backend_paths.PASSWORD))
    security.record_sign_in(request=request, user=user, method=method)
    request.session.pop(session_policy.CART_SESSION_KEY, None)
    session_policy.mark_auth_method(request.session, method)
    # The server enforces the limits (accounts.sessions.policy); the cookie only
    # decides whether the browser keeps the session when it closes.
    session_policy.mark_remember(request.session, remember)
    # Every sign-in (password, OTP step, passkey) comes through here, so every
    # one offers Device Bound Session Credentials.
    dbsc.offer_registration(request)
    if guest_cart_id is None or planted:
        return MergeReport(left_behind=planted)
    return cart_merge_into_user(guest_cart_id=guest_cart_id, user=user)


def started_in_this_browser(session) -> bool:
    """Whether the guest session was started by the browser signing in now.

    The rule for carrying a guest cart into an account (docs/threat-model.md):
    a guest session keeps the user agent that started it, so a session cookie
    planted by someone else's browser brings no cart into the victim's account.
    """
    return session.row is None or session.row.user_agent == session.user_agent


def sign_out(*, request) -> None:
    """End the session on the server (ASVS V7.4.1), recording who left."""
    if request.user.is_authenticated:
        audit.record("session_logout", request=request)
    logout(request)


@dataclass(frozen=True)
class PendingMFA:
    """A visitor whose password was right and whose OTP step is outstanding."""

    user: object
    remember: bool


def sign_in_start_mfa(*, request, user, remember: bool) -> None:
    """Remember, in the still-anonymous session, whose OTP step comes next."""
    # V7.2.4 at every step: a new key now, so a key planted in this browser
    # never reaches the code step (the OTP step's sign_in() gives another).
    request.session.cycle_key()
    # 4:V3.7.1: the password alone signs nobody in; the visitor stays a guest
    # until the OTP step succeeds, within MFA_PENDING_SECONDS.
    request.session[session_policy.MFA_PENDING] = {
        "user": user.pk,
        "at": timezone.now().timestamp(),
        "remember": remember,
    }


def sign_in_pending_mfa(*, request) -> PendingMFA | None:
    """Return the pending OTP step, or None if there is none or it has expired."""
    pending = request.session.get(session_policy.MFA_PENDING)
    if not pending:
        return None
    if timezone.now().timestamp() - pending["at"] > settings.MFA_PENDING_SECONDS:
        del request.session[session_policy.MFA_PENDING]
        return None
    user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    return PendingMFA(user=user, remember=pending["remember"]) if user else None


def sign_in_finish_mfa(*, request, pending: PendingMFA, token: str) -> MergeReport:
    """Check the code (raises CodeRejected); only then is the user signed in and the guest cart carried over."""
    device = mfa_check_code(request=request, user=pending.user, token=token)
    return sign_in_second_factor(request=request, pending=pending, device=device)


def sign_in_second_factor(*, request, pending: PendingMFA, device) -> MergeReport:
    """Complete an MFA sign-in with the device that proved the second factor (a code's, or a passkey)."""
    del request.session[session_policy.MFA_PENDING]
    method = f"password+{SECOND_FACTORS[type(device)]}"
    report = sign_in(request=request, user=pending.user, remember=pending.remember, method=method)
    otp_login(request, device)
    return report
