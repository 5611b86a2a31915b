"""View decorators: re-authentication first, no Referer for token links, requests that are not activity."""

import functools
import json
from urllib.parse import urlencode

from django.shortcuts import redirect, render
from django.urls import reverse

from accounts.flows.reauth import (
    MSG_TOO_LARGE_TO_HOLD,
    NOT_KEPT,
    RESUME_MAX_BYTES,
    RESUME_MAX_VALUES,
    reauth_spend,
    recently_authenticated,
)
from accounts.sessions import policy as session_policy


def no_referrer(view):
    """Send Referrer-Policy: no-referrer with the link's redirect, so no Referer ever carries the token (ASVS V6.4).

    Only the redirect: a page with a form must keep the site's same-origin
    policy, or Chromium posts the form with Origin: null, which Django's CSRF
    check refuses. Those pages' URLs hold no token anyway, or a dead one.
    """

    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code == 302:
            response["Referrer-Policy"] = "no-referrer"
        return response

    return wrapped


def reauth_required(view=None, *, fresh=False):
    """Let the view run only within REAUTH_WINDOW of authenticating; else ask first, then resume.

    `@reauth_required(fresh=True)`: every time. Only a re-authentication counts,
    never the sign-in, and a POST the view accepts spends it.
    """
    if view is None:
        return functools.partial(reauth_required, fresh=fresh)

    @functools.wraps(view)
    def guarded(request, *args, **kwargs):
        if recently_authenticated(request, fresh=fresh):
            response = view(request, *args, **kwargs)
            if fresh and request.method == "POST" and response.status_code < 400:
                reauth_spend(request)
            return response
        path = request.get_full_path()
        reauth_url = f"{reverse('accounts:reauth')}?{urlencode({'next': path})}"
        if request.method == "POST":
            data = [[key, values] for key, values in request.POST.lists() if key not in NOT_KEPT]
            if sum(len(values) for _, values in data) > RESUME_MAX_VALUES or len(json.dumps(data)) > RESUME_MAX_BYTES:
                context = {"reason": MSG_TOO_LARGE_TO_HOLD, "reauth_url": reauth_url}
                return render(request, "413.html", context, status=413)
            request.session[session_policy.RESUME] = {"path": path, "data": data}
        return redirect(reauth_url)

    return guarded


def not_activity(view):
    """Mark a view whose requests must not count as user activity (the status poll)."""

    def wrapped(request, *args, **kwargs):
        request.session_activity = False
        return view(request, *args, **kwargs)

    return wrapped
