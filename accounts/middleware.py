"""The session lifecycle on every request: expiry, binding, activity, rotation, headers."""
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control

from accounts import session_policy
from accounts.ip import client_ip
from accounts.session_store import USER_AGENT_MAX_LENGTH

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)


def wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def not_activity(view):
    """Mark a view whose requests must not count as user activity (the status poll)."""

    def wrapped(request, *args, **kwargs):
        request.session_activity = False
        return view(request, *args, **kwargs)

    return wrapped


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's session middleware, plus the lifecycle rules of accounts.session_policy."""

    def process_request(self, request):
        user_agent = request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX_LENGTH]
        ip = client_ip(request)
        # Only the cookie is read: a `sessionid` query parameter is never a
        # session key (ASVS V14.2.1).
        session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        request.session = session = self.SessionStore(session_key, ip=ip, user_agent=user_agent)
        if session_key is None:
            return None  # browsing without a session costs no query
        if session.get(SESSION_KEY) is None:  # loads; an ended or unknown key leaves it empty
            if session.ended and session_policy.is_authenticated(session.ended[0]):
                return self._signed_out(request, session.ended[1])
            return None
        row = session.row
        # CS binding: a signed-in session presented by another browser (or,
        # when configured, from another address) is taken to be stolen.
        if (settings.SESSION_BIND_USER_AGENT and row.user_agent != user_agent) or (
            settings.SESSION_BIND_IP and row.ip != ip
        ):
            session.flush()
            return self._signed_out(request, session_policy.HIJACK)
        return None

    def _signed_out(self, request, reason):
        """Send an HTML request to the sign-in page saying why; let JSON calls go on anonymous."""
        request.session_ended = reason
        if wants_json(request):
            return None
        query = {"ended": reason}
        if request.method == "GET":
            query["next"] = request.get_full_path()
        return HttpResponseRedirect(f"{reverse('accounts:login')}?{urlencode(query)}")

    def process_response(self, request, response):
        session = request.session
        loaded = getattr(session, "_session_cache", None)
        if loaded and session.row is not None and response.status_code < 500:
            now = timezone.now()
            if session.rekeyed:
                session.modified = True  # the response must carry the successor's key
            idle_since = (now - session.row.last_activity).total_seconds()
            if getattr(request, "session_activity", True) and idle_since >= session_policy.limits(loaded).activity_granularity:
                session.record_activity()  # sparse: at most one write per granularity
            if session_policy.rotation_due(loaded, now):
                session.rotate(grace=settings.SESSION_ROTATE_GRACE)
        response = super().process_response(request, response)
        if settings.SESSION_COOKIE_NAME in response.cookies or (loaded and session_policy.is_authenticated(loaded)):
            # Signed-in pages and new session cookies must not sit in a shared cache.
            patch_cache_control(response, no_store=True)
        return response


class SecurityHeadersMiddleware:
    """Add the Content-Security-Policy: scripts and styles only from this site, no framing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response
