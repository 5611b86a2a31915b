"""The session lifecycle on every request: expiry, binding, activity, rotation, headers."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.middleware import (
    SessionMiddleware as DjangoSessionMiddleware,
)
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control

from accounts.ip import client_ip
from accounts.monitoring import audit, security
from accounts.sessions import dbsc, elsewhere, same_site
from accounts.sessions import policy as session_policy
from accounts.sessions.store import USER_AGENT_MAX_LENGTH

# A page that asks for itself again, showing nothing of the session.
RELOAD_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta http-equiv="refresh" content="0"><title>Opening…</title></head>'
    "<body><p>Opening the page…</p></body></html>"
)


def wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def cross_site_navigation(request) -> bool:
    """A top-level GET navigation that another site started (a link in a mail, a search result)."""
    headers = request.headers
    return (
        request.method == "GET"
        and headers.get("Sec-Fetch-Site") == "cross-site"
        and headers.get("Sec-Fetch-Mode") == "navigate"
    )


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's session middleware, plus the lifecycle rules of accounts.sessions.policy."""

    def process_request(self, request):
        user_agent = request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX_LENGTH]
        ip = client_ip(request)
        # Only the cookie is read: a `sessionid` query parameter is never a
        # session key (ASVS V14.2.1).
        session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        request.session = session = self.SessionStore(session_key, ip=ip, user_agent=user_agent)
        request.session_key_at_start = None
        if session_key is None:
            return None  # browsing without a session costs no query
        signed_in = session.get(SESSION_KEY) is not None  # loads the session
        if session.ended:
            return self._ended(request, session.ended)
        if session.unknown_key:
            # The next page (or the idle warning's poll) of a device signed out from elsewhere says so, once.
            reason = elsewhere.take(session_key)
            if reason is None:
                security.record_use_after_expire(request=request, known=False)
                return None
            security.record_use_after_expire(request=request, known=True, reason=reason)
            return self._signed_out(request, reason)
        request.session_key_at_start = session.session_key
        if not signed_in:
            return None
        row = session.row
        # CS binding: a signed-in session presented by another browser (or,
        # when configured, from another address) is taken to be stolen.
        stolen_by = "browser" if settings.SESSION_BIND_USER_AGENT and row.user_agent != user_agent else None
        if stolen_by is None and dbsc.unproven(request, session):
            if dbsc.in_scope(request) and cross_site_navigation(request):
                # The browser refreshes its bound cookie before the requests it or this
                # origin start, not before a link from another site: a same-origin
                # reload gets that refresh first. Nothing of the session is shown.
                request.session_activity = False
                request.session_unproven = True
                response = HttpResponse(RELOAD_PAGE)
                patch_cache_control(response, no_store=True)
                return response
            if dbsc.in_scope(request):
                # Bound to a key on the user's device, and no valid proof of it came along.
                stolen_by = dbsc.DEVICE_BINDING
            else:
                # Out of the declared scope the browser never refreshes first, so the
                # cookie may have lapsed: served, but it neither counts as activity
                # nor takes the session's next key.
                request.session_activity = False
                request.session_unproven = True
        if row.ip and row.ip != ip:
            if settings.SESSION_BIND_IP:
                stolen_by = stolen_by or "address"
            else:
                audit.record("session_ip_changed", request=request, previous_ip=row.ip)
                session.modified = True  # the row takes the new address now
        if stolen_by:
            session.flush()
            security.record_hijack(request=request, row=row, reason=stolen_by)
            return self._signed_out(
                request, session_policy.UNPROVEN if stolen_by == dbsc.DEVICE_BINDING else session_policy.HIJACK
            )
        return None

    def process_view(self, request, view_func, view_args, view_kwargs):
        """Refuse a state change that presents a session without its same-site cookie, before the CSRF check.

        The views the browser calls on its own (DBSC, csrf_exempt) prove themselves otherwise.
        """
        if getattr(view_func, "csrf_exempt", False):
            return None
        reason = same_site.refusal(request)
        if reason is None:
            return None
        audit.record("malicious_csrf", request=request, reason=reason)
        return render(request, "403_csrf.html", status=403)

    def _ended(self, request, ended):
        """Record a session presented after its server-side expiry; tell a signed-in user why."""
        user = ended.row.user
        details = {"request": request, "user": user, "public_id": ended.row.public_id, "reason": ended.reason}
        security.record_use_after_expire(known=True, **details)
        if ended.reason != session_policy.ROTATED:
            audit.record("session_expired", **details)
        if session_policy.is_authenticated(ended.data):
            return self._signed_out(request, ended.reason, remember=ended.data.get(session_policy.REMEMBER, False))
        return None

    def _signed_out(self, request, reason, *, remember=False):
        """Send an HTML request to the sign-in page saying why; let JSON calls go on anonymous."""
        request.session_ended = reason
        if wants_json(request):
            return None
        query = {"ended": reason}
        if remember:
            query["remember"] = "1"  # the message then quotes the remember-me limits
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
            if (
                getattr(request, "session_activity", True)
                and idle_since >= session_policy.limits(loaded).activity_granularity
            ):
                session.record_activity()  # sparse: at most one write per granularity
            if session_policy.rotation_due(loaded, now) and not getattr(request, "session_unproven", False):
                session.rotate(grace=settings.SESSION_ROTATE_GRACE)
                request.session_renewed_because = "interval"
        response = super().process_response(request, response)
        if session.ended_meanwhile:
            response = self._stay_ended(request, response)
        same_site.follow_session_cookie(request, response)
        dbsc.add_registration_offer(request, response)
        self._record_key_change(request)
        if settings.SESSION_COOKIE_NAME in response.cookies or (loaded and session_policy.is_authenticated(loaded)):
            # Signed-in pages and new session cookies must not sit in a shared cache.
            patch_cache_control(response, no_store=True)
        return response

    def _stay_ended(self, request, response):
        """Answer a request whose session another request ended meanwhile: signed out, no new key.

        The engine found its row gone while saving or changing the key (a sign-out in
        another tab, "sign out everywhere", staff, a password change) and kept nothing.
        """
        response = self._signed_out(request, session_policy.REVOKED) or response
        response.cookies.pop(settings.SESSION_COOKIE_NAME, None)  # what Django set for the lost key
        request.session.flush()  # whatever the view wrote after the loss goes too
        return super().process_response(request, response)  # an empty session: only the deletion cookie

    def _record_key_change(self, request):
        """Record a new session, or a new key for a session (rotation, sign-in, password change)."""
        session = request.session
        before, after = request.session_key_at_start, session.session_key if session.row is not None else None
        if after and before is None:
            audit.record("session_created", request=request)
        elif after and before != after:
            audit.record(
                "session_renewed",
                request=request,
                because=getattr(request, "session_renewed_because", "authentication"),
            )
