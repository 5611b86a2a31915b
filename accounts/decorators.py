"""View decorators: re-authentication first, no Referer for token links, requests that are not activity."""

import functools
import json
from urllib.parse import urlencode

from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.flows.reauth import (
    MSG_TOO_LARGE_TO_HOLD,
    NOT_KEPT,
    RESUME_MAX_BYTES,
    RESUME_MAX_VALUES,
    action_phrase,
    reauth_spend,
    reauthenticate,
    recently_authenticated,
)
from accounts.forms import ReauthForm
from accounts.sessions import policy as session_policy

REAUTH_PREFIX = "reauth"  # the one screen's own fields, beside the held ones: reauth-password, reauth-otp_token


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

    A GET goes to /accounts/reauth/ and is redone after. A POST is answered
    with one screen that names the action ("Enter your password to place this
    €72.25 order"), its fields held in the page: the password posted there goes
    to the same URL, and the action runs at once when it is right. The passkey
    way resumes from the session, where the POST is held too.
    """
    if view is None:
        return functools.partial(reauth_required, fresh=fresh)

    def run(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if fresh and request.method == "POST" and response.status_code < 400:
            reauth_spend(request)
        return response

    @functools.wraps(view)
    def guarded(request, *args, **kwargs):
        if recently_authenticated(request, fresh=fresh):
            return run(request, *args, **kwargs)
        path = request.get_full_path()
        reauth_url = f"{reverse('accounts:reauth')}?{urlencode({'next': path})}"
        if request.method != "POST":
            return redirect(reauth_url)
        data = [
            [key, values]
            for key, values in request.POST.lists()
            if key not in NOT_KEPT and not key.startswith(f"{REAUTH_PREFIX}-")
        ]
        if sum(len(values) for _, values in data) > RESUME_MAX_VALUES or len(json.dumps(data)) > RESUME_MAX_BYTES:
            context = {"reason": MSG_TOO_LARGE_TO_HOLD, "reauth_url": reauth_url}
            return render(request, "413.html", context, status=413)
        answered = f"{REAUTH_PREFIX}-password" in request.POST
        form = ReauthForm(request.POST if answered else None, request=request, prefix=REAUTH_PREFIX)
        if answered and form.is_valid():
            reauthenticate(request=request, device=form.device)
            return run(request, *args, **kwargs)
        request.session[session_policy.RESUME] = {"path": path, "data": data}
        context = {"form": form, "action": path, "fields": data, "next": path, "phrase": action_phrase(request)}
        context["back"] = _back(request)
        return render(request, "accounts/reauth.html", context, status=400 if answered else 200)

    return guarded


def _back(request) -> str:
    """The page the critical form was on (this site only), else the account page."""
    referer = request.headers.get("Referer", "")
    here = {"allowed_hosts": {request.get_host()}, "require_https": request.is_secure()}
    return referer if url_has_allowed_host_and_scheme(referer, **here) else reverse("accounts:account")


def not_activity(view):
    """Mark a view whose requests must not count as user activity (the status poll)."""

    def wrapped(request, *args, **kwargs):
        request.session_activity = False
        return view(request, *args, **kwargs)

    return wrapped
