"""What several account pages share: the greeting after a sign-in, the header that clears the browser, the
form page that goes on to `next`, the account page."""

from django.contrib import messages
from django.shortcuts import render
from django.urls import reverse_lazy
from django.views.generic import FormView

from accounts.flows import email as email_flow
from accounts.flows import mfa as mfa_flow
from accounts.flows import passkeys as passkeys_flow
from accounts.forms import DeleteAccountForm, EmailChangeForm
from shopdemo.redirects import safe_next

# ASVS V14.3.1: the browser drops what it kept of the signed-in session.
CLEAR_SITE_DATA = '"cache", "cookies", "storage"'


def welcome(request, report, greeting: str = "") -> None:
    """Greet the user just signed in, and say what became of the guest cart."""
    greeting = greeting or f"Welcome back, {request.user.get_username()}."
    messages.success(request, greeting)
    if report.message:
        messages.info(request, report.message)


class NextFormView(FormView):
    """A form page that goes on to a safe `next` when done."""

    next_page = reverse_lazy("cart:catalog")

    def get_success_url(self):
        return safe_next(self.request, default=str(self.next_page))

    def get_context_data(self, **kwargs):
        return super().get_context_data(next=safe_next(self.request), **kwargs)


def account_page(request, *, email_form=None, delete_form=None, status=200):
    context = {
        "email_form": email_form or EmailChangeForm(initial={"email": request.user.email}),
        "delete_form": delete_form or DeleteAccountForm(user=request.user),
        "email_confirmed": email_flow.email_confirmed(request.user),
        "email_pending": email_flow.email_state(request.user).pending,
        "mfa_enabled": mfa_flow.mfa_enabled(request.user),
        "totp": mfa_flow.totp_enabled(request.user),
        "codes_left": len(mfa_flow.recovery_codes(request.user)),
        "passkeys": passkeys_flow.passkeys_of(request.user).count(),
        "devices": request.user.sessions.live().count(),
    }
    return render(request, "accounts/account.html", context, status=status)
