"""Sign-in with its MFA step, re-authentication, registration, sign-out, and the error and health pages."""

from urllib.parse import urlencode

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django.contrib import messages
from django.contrib.auth import SESSION_KEY
from django.contrib.auth import views as auth_views
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.db.utils import DatabaseError
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.generic import FormView

from accounts.forms import LoginForm, OTPForm, ReauthForm, RegisterForm
from accounts.mfa import Throttled, mfa_enabled, mfa_verify
from accounts.monitoring import audit
from accounts.reauth import resume_for
from accounts.services import (
    account_finish_mfa,
    account_pending_mfa,
    account_reauthenticate,
    account_sign_in,
    account_start_mfa,
)
from accounts.sessions import policy as session_policy

# ASVS V14.3.1: the browser drops what it kept of the signed-in session.
CLEAR_SITE_DATA = '"cache", "cookies", "storage"'
MSG_MFA_EXPIRED = "Your sign-in was not completed in time. Please enter your password again."
MSG_THROTTLED = "Too many wrong codes: wait {seconds} seconds, then enter the current code."
MSG_BAD_CODE = "That code is not valid. Enter the current code from your app, or an unused recovery code."


def _welcome(request, report, greeting: str):
    messages.success(request, greeting)
    if report.message:
        messages.info(request, report.message)


def ended_message(reason: str, *, remember: bool) -> str | None:
    """Say why the server ended the visitor's session, with the limits that applied to it."""
    lim = session_policy.limits({SESSION_KEY: True, session_policy.REMEMBER: remember})
    if reason == session_policy.IDLE:
        return f"You were signed out after {session_policy.duration_text(lim.idle)} without activity."
    if reason == session_policy.ABSOLUTE:
        limit = session_policy.duration_text(lim.absolute)
        return f"You were signed out because your sign-in is more than {limit} old. Please sign in again."
    if reason == session_policy.HIJACK:
        return "Your session was ended because it was used from another browser. Please sign in again."
    if reason == session_policy.UNPROVEN:
        return (
            "Your session was ended because the request did not prove it came from the device you signed in on. "
            "Please sign in again."
        )
    return None


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = False

    def get_context_data(self, **kwargs):
        query = self.request.GET
        ended = ended_message(query.get("ended", ""), remember=query.get("remember") == "1")
        return super().get_context_data(ended=ended, **kwargs)

    def form_valid(self, form):
        user = form.get_user()
        remember = form.cleaned_data["remember_me"]
        if mfa_enabled(user):
            # 4:V3.7.1: the password alone signs nobody in; the visitor stays a
            # guest until the OTP step succeeds, within MFA_PENDING_SECONDS.
            account_start_mfa(request=self.request, user=user, remember=remember)
            return redirect(f"{reverse('accounts:login_otp')}?{urlencode({'next': self.get_success_url()})}")
        report = account_sign_in(request=self.request, user=user, remember=remember)
        _welcome(self.request, report, f"Welcome back, {user.get_username()}.")
        return HttpResponseRedirect(self.get_success_url())


class NextFormView(auth_views.RedirectURLMixin, FormView):
    """A form page that goes on to a safe `next` (Django's open-redirect check) when done."""

    def get_context_data(self, **kwargs):
        return super().get_context_data(next=self.get_redirect_url(), **kwargs)


class LoginOTPView(NextFormView):
    """The second sign-in step: a TOTP or recovery code for the user whose password was right."""

    form_class = OTPForm
    template_name = "accounts/login_otp.html"
    next_page = reverse_lazy("cart:catalog")

    def dispatch(self, request, *args, **kwargs):
        self.pending = account_pending_mfa(request=request)
        if self.pending is None:
            messages.error(request, MSG_MFA_EXPIRED)
            return redirect("accounts:login")
        if not AxesProxyHandler.is_allowed(request, {"username": self.pending.user.get_username()}):
            return get_lockout_response(request, credentials={"username": self.pending.user.get_username()})
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        user = self.pending.user
        try:
            device = mfa_verify(user=user, token=form.cleaned_data["otp_token"])
        except Throttled as wait:
            # No code was checked, so nothing is counted: the user is only asked to wait.
            form.add_error("otp_token", MSG_THROTTLED.format(seconds=wait.seconds))
            return self.form_invalid(form)
        if device is None:
            # Counted like a wrong password: axes locks code guessing too (V6.5.5).
            user_login_failed.send(__name__, credentials={"username": user.get_username()}, request=self.request)
            form.add_error("otp_token", MSG_BAD_CODE)
            return self.form_invalid(form)
        report = account_finish_mfa(request=self.request, pending=self.pending, device=device)
        _welcome(self.request, report, f"Welcome back, {user.get_username()}.")
        return HttpResponseRedirect(self.get_success_url())


class ReauthView(NextFormView):
    """Prove it is still you before a critical action: password, and a code when MFA is on."""

    form_class = ReauthForm
    template_name = "accounts/reauth.html"
    next_page = reverse_lazy("accounts:account")

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form):
        account_reauthenticate(request=self.request, device=form.device)
        target = self.get_success_url()
        held = resume_for(self.request, target)
        if held is not None:
            # The critical POST that sent the user here comes back filled, to confirm.
            fields, label = held
            return render(self.request, "accounts/resume.html", {"action": target, "fields": fields, "label": label})
        return HttpResponseRedirect(target)


class RegisterView(NextFormView):
    form_class = RegisterForm
    template_name = "accounts/register.html"
    next_page = reverse_lazy("cart:catalog")

    def form_valid(self, form):
        user = form.save()
        report = account_sign_in(request=self.request, user=user, remember=False)
        _welcome(self.request, report, f"Welcome, {user.get_username()}: your account is ready.")
        return HttpResponseRedirect(self.get_success_url())


class LogoutView(auth_views.LogoutView):
    """Django's POST-only sign-out (it deletes the session row), plus Clear-Site-Data."""

    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            audit.record("session_logout", request=request)
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = CLEAR_SITE_DATA
        return response


def csrf_failure(request, reason=""):
    audit.record("malicious_csrf", request=request, reason=reason)
    return render(request, "403_csrf.html", status=403)


def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})
