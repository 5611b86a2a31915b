"""Re-authentication before critical actions (ASVS V7.5.1/V7.5.3).

For placing an order, signing in counts as authenticating: within
REAUTH_WINDOW of sign-in or of a re-authentication no prompt appears. Factor
and address changes are `fresh`: only a re-authentication counts, never the
sign-in (a stolen cookie is as fresh as its sign-in), and the change spends it,
so the next one asks again. Otherwise a critical request is sent to
/accounts/reauth/ and resumes once the user has proved it is them: a GET is
simply redone, a POST comes back as a filled form to confirm.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.urls import resolve
from django.utils import timezone
from django_otp import login as otp_login

from accounts.monitoring import audit
from accounts.sessions import policy as session_policy
from cart import services

# Never held in the session while the user re-authenticates.
NOT_KEPT = ("csrfmiddlewaretoken", "password", "old_password", "new_password1", "new_password2", "otp_token")


# The held POST lives in the session: keep sessions small (every critical form
# here has a handful of short fields). More is refused with 413, nothing held.
RESUME_MAX_VALUES = 20
RESUME_MAX_BYTES = 4096
MSG_TOO_LARGE_TO_HOLD = (
    "This form is too large to keep while you confirm it is you. Confirm first, then send the form again."
)

# What the held POST does, by URL name, so the confirm button can say it.
RESUME_LABELS = {
    "checkout": "Place the order",
    "email_change": "Change the email address",
    "mfa": "Turn on two-factor authentication",
    "mfa_disable": "Turn off two-factor authentication",
    "mfa_recovery_codes": "Make new recovery codes",
    "passkey_remove": "Remove the passkey",
    "session_revoke": "Sign out that device",
    "session_revoke_others": "Sign out all other devices",
    "delete": "Delete the account",
}


# What the held POST does, as the one re-authentication screen says it: "Enter your password to …".
ACTION_PHRASES = {
    "checkout": "place this {amount} order",
    "email_change": "change your email address",
    "password_change": "change your password",
    "mfa": "turn on two-step sign-in",
    "mfa_disable": "turn off two-step sign-in",
    "mfa_recovery_codes": "make new recovery codes",
    "passkey_remove": "remove the passkey",
    "session_revoke": "sign out that device",
    "session_revoke_others": "sign out all your other devices",
    "delete": "delete your account",
}


def action_phrase(request) -> str:
    """What the critical POST of `request` does, with its amount: "place this €72.25 order"."""
    phrase = ACTION_PHRASES.get(resolve(request.path).url_name, "continue")
    if "{amount}" not in phrase:
        return phrase
    subtotal = services.order_total(services.visitor_cart(request).lines)
    delivered = bool(request.POST.get("address", "").strip())
    return phrase.format(amount=f"€{subtotal + services.shipping_for(subtotal=subtotal, delivered=delivered)}")


def recently_authenticated(request, *, fresh: bool = False) -> bool:
    """Whether the user re-authenticated (or, unless `fresh`, signed in) within REAUTH_WINDOW."""
    session = request.session
    last = session.get(session_policy.REAUTH_AT, 0)
    if not fresh:
        last = max(last, session.get(session_policy.AUTH_AT, 0))
    return timezone.now().timestamp() - last <= settings.REAUTH_WINDOW


def reauth_spend(request) -> None:
    """Use up the re-authentication: the next factor or address change asks again (ASVS V7.5.3)."""
    request.session.pop(session_policy.REAUTH_AT, None)


def reauthenticate(*, request, device=None, method: str = session_policy.PASSWORD) -> None:
    """Mark the user as just authenticated for critical actions, on a new session key (V7.2.4)."""
    request.session.cycle_key()
    session_policy.mark_reauthenticated(request.session)
    if device is not None:
        otp_login(request, device)
    audit.record("authn_reauthenticated", request=request, mfa=device is not None, method=method)


def held_on_the_page(request, path: str) -> bool:
    """Whether a POST for `path` is held: the one screen that holds its fields sends it itself (and forgets it here)."""
    return resume_for(request, path) is not None


def resume_for(request, path: str) -> tuple[list, str] | None:
    """Return (and forget) the POST held for `path` as [key, values] pairs, with what it does."""
    held = request.session.pop(session_policy.RESUME, None)
    if not held or held["path"] != path:
        return None
    match = resolve(urlsplit(path).path)
    return held["data"], RESUME_LABELS.get(match.url_name, "Continue")
