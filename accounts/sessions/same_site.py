"""The same-site companion cookie: with a Lax session cookie, state changes must carry a Strict one.

A Lax session cookie comes along on a top-level navigation from another site
(a search result, a mail), so reading pages from a link works. The companion
cookie is Strict, so a browser sends it only on requests this site started;
its value is an HMAC of the session key it was set with, so it is renewed with
every new key and one taken from an earlier key is worth nothing. Every
state-changing request that presents a session must bring the matching
companion, or it is refused before the CSRF check. With
SESSION_COOKIE_SAMESITE=Strict the session cookie itself is Strict and no
companion is used.
"""

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

SALT = "accounts.sessions.same_site.companion"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")
MISSING = "same-site cookie missing"
WRONG = "same-site cookie not of this session key"


def required() -> bool:
    return settings.SESSION_COOKIE_SAMESITE == "Lax"


def value_for(session_key: str) -> str:
    return salted_hmac(SALT, session_key, algorithm="sha256").hexdigest()


def refusal(request) -> str | None:
    """Why a state-changing request presenting a session cannot go on, or None when it may."""
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not required() or request.method in SAFE_METHODS or not session_key:
        return None  # a guest's first add to the cart has no session yet: nothing to protect
    if settings.SESSION_SAME_SITE_COOKIE_NAME not in request.COOKIES:
        return MISSING
    return None if _matches(request, session_key) else WRONG


def _matches(request, session_key: str) -> bool:
    sent = request.COOKIES.get(settings.SESSION_SAME_SITE_COOKIE_NAME, "")
    return constant_time_compare(sent, value_for(session_key))


def _set(response, session_key: str, max_age, expires) -> None:
    response.set_cookie(
        settings.SESSION_SAME_SITE_COOKIE_NAME,
        value_for(session_key),
        max_age=max_age,
        expires=expires,
        path="/",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )


def follow_session_cookie(request, response) -> None:
    """Set, renew or delete the companion with the session cookie the response carries.

    A request that kept its session key but came without a matching companion
    (a link from another site, a session older than the companion) is given
    one: the Strict attribute, not the moment it is set, keeps it off
    cross-site requests.
    """
    if not required():
        return
    morsel = response.cookies.get(settings.SESSION_COOKIE_NAME)
    if morsel is not None:
        if morsel.value:
            _set(response, morsel.value, morsel["max-age"] or None, morsel["expires"] or None)
        else:  # the session cookie is being deleted
            response.delete_cookie(settings.SESSION_SAME_SITE_COOKIE_NAME, path="/", samesite="Strict")
        return
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if session_key and session_key == request.session.session_key and not _matches(request, session_key):
        session = request.session
        _set(response, session_key, None if session.get_expire_at_browser_close() else session.get_expiry_age(), None)
