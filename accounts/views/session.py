"""The visitor's own session: its status and extension (the idle warning), and the inspector at /session/."""

import json
import secrets
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY
from django.core import signing
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.module_loading import import_string
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import not_activity
from accounts.devices import describe
from accounts.flows.sessions import sessions_extend
from accounts.models import AuditEvent
from accounts.sessions import dbsc, same_site
from accounts.sessions import policy as session_policy
from accounts.sessions.state import session_state


@require_GET
@not_activity
def session_status(request):
    return JsonResponse(session_state(request))


@require_POST
def session_extend(request):
    if request.user.is_authenticated:
        sessions_extend(request=request)
    return JsonResponse(session_state(request))


# One sentence per key the session may hold, for the inspector.
SESSION_KEY_MEANINGS = {
    session_policy.CART_SESSION_KEY: (
        "the id of your guest cart; the cart's lines are rows in the database, not in the session"
    ),
    session_policy.GUEST_ORDERS_SESSION_KEY: (
        "the numbers of the orders this browser placed as a guest, so it may open them; they become the "
        "account's if you register here"
    ),
    "_auth_user_id": "the account this session is signed in to",
    "_auth_user_backend": "which authentication backend signed you in: the password one, or the passkey one",
    "_auth_user_hash": (
        "derived from your password hash: changing the password invalidates every session holding the old one"
    ),
    session_policy.AUTH_AT: "when you signed in; the absolute limit counts from here",
    session_policy.REMEMBER: 'whether you ticked "remember me", which chooses the longer limits',
    session_policy.ROTATED_AT: "when the session key last changed; the next rotation counts from here",
    session_policy.AUTH_METHOD: "how you signed in: password, password and a code or passkey, or a passkey alone",
    "_passkey_authenticate": "the challenge of a passkey sign-in in progress; it works once, then is deleted",
    "_passkey_register": "the challenge of adding a passkey in progress; it works once, then is deleted",
    "otp_device_id": "which second factor (authenticator app, recovery code or passkey) confirmed this sign-in",
    "_session_expiry": "how long the browser keeps the cookie (0: until it closes); the server's limits are separate",
}


def _at(timestamp) -> dict | None:
    """A moment with its distance from now in words, for the inspector's deadlines."""
    if timestamp is None:
        return None
    return {"at": timestamp, "in": session_policy.until_text(int((timestamp - timezone.now()).total_seconds()))}


# django.contrib.sessions.backends.signed_cookies signs its payload with this salt.
SIGNED_COOKIES_SALT = "django.contrib.sessions.backends.signed_cookies"


def _as_signed_cookie(data: dict) -> dict:
    """This session's data as Django's signed_cookies engine would send it, and what its holder can read.

    Built as that engine builds its cookie (signing.dumps, compressed, with the session
    serializer), but signed with a throwaway key: the lesson needs the format and the
    size, and a cookie signed with this server's key would be a real credential for a
    server that used that engine. The password-derived hash is replaced by a placeholder
    of its length, as the admin hides it: the page shows nothing it need not.
    """
    shown = dict(data)
    if HASH_SESSION_KEY in shown:
        shown[HASH_SESSION_KEY] = f"(hidden: {len(shown[HASH_SESSION_KEY])} characters derived from your password)"
    serializer = import_string(settings.SESSION_SERIALIZER)
    cookie = signing.dumps(
        shown, key=secrets.token_urlsafe(32), salt=SIGNED_COOKIES_SALT, compress=True, serializer=serializer
    )
    return {"value": cookie, "size": len(cookie), "readable": json.dumps(shown, indent=2, sort_keys=True)}


@require_GET
def session_inspector(request):
    """Explain, for the visitor's own session, what the server holds and why."""
    session = request.session
    row = session.row if session.session_key else None
    context = {
        "row": row,
        "cookie_name": settings.SESSION_COOKIE_NAME,
        "samesite": settings.SESSION_COOKIE_SAMESITE,
        "same_site_cookie": settings.SESSION_SAME_SITE_COOKIE_NAME if same_site.required() else None,
        "secure": settings.SESSION_COOKIE_SECURE,
    }
    if row is not None:
        data = dict(session.items())
        lim = session_policy.limits(data)
        rotated = data.get(session_policy.ROTATED_AT)
        context |= {
            "authenticated": session_policy.is_authenticated(data),
            "remember": data.get(session_policy.REMEMBER, False),
            "browser_session": session.get_expire_at_browser_close(),
            "limits": lim,
            "idle_limit": session_policy.duration_text(lim.idle),
            "absolute_limit": session_policy.duration_text(lim.absolute) if lim.absolute else None,
            "idle_expiry": _at(session_policy.idle_deadline(data, row.last_activity)),
            "absolute_expiry": _at(session_policy.absolute_deadline(data)),
            "signed_in_at": session_policy.auth_time(data),
            "method": session_policy.auth_method_text(data),
            "next_rotation": _at(
                datetime.fromtimestamp(rotated + settings.SESSION_ROTATE_INTERVAL, tz=UTC) if rotated else None
            ),
            "keys": [(key, SESSION_KEY_MEANINGS.get(key, "")) for key in sorted(data)],
            "events": AuditEvent.objects.filter(session_public_id=row.public_id)[:10],
            "device": describe(row.user_agent),
            "dbsc_thumbprint": dbsc.thumbprint(row.device_key) if row.device_bound else None,
            "dbsc_age": session_policy.duration_text(settings.DBSC_BOUND_COOKIE_AGE),
            "dbsc_cookie": settings.DBSC_COOKIE_NAME,
            "signed_cookie": _as_signed_cookie(data),
            "cookie_size": len(session.session_key),
        }
    return render(request, "accounts/inspector.html", context)
