"""Sign-in, registration, sign-out and the pages around them."""
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.db import connection
from django.db.utils import DatabaseError
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.views.generic import FormView

from accounts.forms import LoginForm, RegisterForm
from accounts.services import account_sign_in

# ASVS V14.3.1: the browser drops what it kept of the signed-in session.
CLEAR_SITE_DATA = '"cache", "cookies", "storage"'


def _welcome(request, report, greeting: str):
    messages.success(request, greeting)
    if report.message:
        messages.info(request, report.message)


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = False

    def form_valid(self, form):
        user = form.get_user()
        report = account_sign_in(request=self.request, user=user, remember=form.cleaned_data["remember_me"])
        _welcome(self.request, report, f"Welcome back, {user.get_username()}.")
        return HttpResponseRedirect(self.get_success_url())


class RegisterView(auth_views.RedirectURLMixin, FormView):
    form_class = RegisterForm
    template_name = "accounts/register.html"
    next_page = reverse_lazy("cart:catalog")

    def get_context_data(self, **kwargs):
        return super().get_context_data(next=self.get_redirect_url(), **kwargs)

    def form_valid(self, form):
        user = form.save()
        report = account_sign_in(request=self.request, user=user, remember=False)
        _welcome(self.request, report, f"Welcome, {user.get_username()}: your account is ready.")
        return HttpResponseRedirect(self.get_success_url())


class LogoutView(auth_views.LogoutView):
    """Django's POST-only sign-out (it deletes the session row), plus Clear-Site-Data."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = CLEAR_SITE_DATA
        return response


def csrf_failure(request, reason=""):
    return render(request, "403_csrf.html", status=403)


def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})
