"""Sign-in with its MFA step, and sign-out (accounts.flows.sign_in)."""

from urllib.parse import urlencode, urlsplit

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django.contrib import messages
from django.contrib.auth import SESSION_KEY
from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse

from accounts.flows import mfa, passkeys, sign_in
from accounts.flows.mfa import CodeRejected, mfa_enabled
from accounts.forms import LoginForm, OTPForm
from accounts.sessions import policy as session_policy
from accounts.views import CLEAR_SITE_DATA, NextFormView, welcome

MSG_MFA_EXPIRED = "Your sign-in was not completed in time. Please enter your password again."


MSG_ELSEWHERE = "You were signed out from another tab or device. Please sign in again."
# Sessions ended from elsewhere (accounts.sessions.elsewhere), by the reason they were ended with;
# REVOKED also names a session ended while one of its own requests ran (accounts.sessions.middleware).
ENDED_ELSEWHERE = {
    session_policy.REVOKED: MSG_ELSEWHERE,
    "mfa_change": MSG_ELSEWHERE,
    "password_change": "You were signed out because your password was changed on another device. Please sign in again.",
    "password_reset": "You were signed out because your password was reset. Please sign in with the new one.",
    "ended_by_staff": "You were signed out by the shop's staff. Please sign in again.",
}


def ended_message(reason: str, *, remember: bool) -> str | None:
    """Say why the server ended the visitor's session, with the limits that applied to it."""
    lim = session_policy.limits({SESSION_KEY: True, session_policy.REMEMBER: remember})
    if reason == session_policy.IDLE:
        return f"You were signed out after {session_policy.duration_text(lim.idle)} without activity."
    if reason == session_policy.ABSOLUTE:
        limit = session_policy.duration_text(lim.absolute)
        return f"You were signed out because your sign-in is more than {limit} old. Please sign in again."
    if reason in ENDED_ELSEWHERE:
        return ENDED_ELSEWHERE[reason]
    if reason == session_policy.HIJACK:
        return "Your session was ended because it was used from another browser. Please sign in again."
    if reason == session_policy.UNPROVEN:
        return (
            "Your session was ended because the request did not prove it came from the device you signed in on. "
            "Please sign in again."
        )
    return None


# Why the visitor was sent to sign in, by where they were going (the page's heading).
SIGN_IN_REASONS = [
    ("/checkout/", "Sign in to check out"),
    ("/orders/", "Sign in to see your orders"),
    ("/accounts/", "Sign in to your account"),
    ("/admin/", "Sign in to the admin"),
]


def sign_in_reason(next_url: str) -> str:
    path = urlsplit(next_url or "").path
    return next((reason for prefix, reason in SIGN_IN_REASONS if path.startswith(prefix)), "Sign in")


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = False

    def get_context_data(self, **kwargs):
        query = self.request.GET
        ended = ended_message(query.get("ended", ""), remember=query.get("remember") == "1")
        return super().get_context_data(ended=ended, reason=sign_in_reason(self.get_redirect_url()), **kwargs)

    def form_valid(self, form):
        user, remember = form.get_user(), form.cleaned_data["remember_me"]
        if mfa_enabled(user):
            sign_in.sign_in_start_mfa(request=self.request, user=user, remember=remember)
            return redirect(f"{reverse('accounts:login_otp')}?{urlencode({'next': self.get_success_url()})}")
        report = sign_in.sign_in(request=self.request, user=user, remember=remember)
        welcome(self.request, report)
        return HttpResponseRedirect(self.get_success_url())


class LoginOTPView(NextFormView):
    """The second sign-in step: a TOTP or recovery code for the user whose password was right."""

    form_class = OTPForm
    template_name = "accounts/login_otp.html"

    def dispatch(self, request, *args, **kwargs):
        self.pending = sign_in.sign_in_pending_mfa(request=request)
        if self.pending is None:
            messages.error(request, MSG_MFA_EXPIRED)
            return redirect("accounts:login")
        credentials = {"username": self.pending.user.get_username()}
        if not AxesProxyHandler.is_allowed(request, credentials):
            return get_lockout_response(request, credentials=credentials)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        user = self.pending.user
        return super().get_context_data(
            has_passkey=passkeys.passkeys_of(user).exists(),
            has_codes=mfa.has_codes(user),
            has_app=mfa.totp_enabled(user),
            **kwargs,
        )

    def form_valid(self, form):
        try:
            report = sign_in.sign_in_finish_mfa(
                request=self.request, pending=self.pending, token=form.cleaned_data["otp_token"]
            )
        except CodeRejected as rejected:
            form.add_error("otp_token", str(rejected))
            return self.form_invalid(form)
        welcome(self.request, report)
        return HttpResponseRedirect(self.get_success_url())


class LogoutView(auth_views.LogoutView):
    """POST-only sign-out that deletes the session row, plus Clear-Site-Data."""

    def post(self, request, *args, **kwargs):
        sign_in.sign_out(request=request)
        response = HttpResponseRedirect(self.get_success_url())
        response["Clear-Site-Data"] = CLEAR_SITE_DATA
        return response
