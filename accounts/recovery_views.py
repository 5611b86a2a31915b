"""Getting back into an account and keeping its address right: password reset, email links."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_GET, require_POST

from accounts.flows import email as email_flow
from accounts.flows.password_reset import password_reset_complete, password_reset_request

MSG_BAD_LINK = (
    "This reset link does not work: it has expired, has been used already, or was not copied whole. "
    "Ask for a new one below."
)
MSG_EMAIL_CONFIRMED = "Thank you: {email} is confirmed."
MSG_EMAIL_CHANGED = "Done: your account's address is now {email}, and it is confirmed."
MSG_LINK_RESENT = "A new link is on its way."
MSG_LINK_THROTTLED = (
    "Several links went out in the last hour; check your mail (and its spam folder) before asking again."
)
MSG_CHANGE_CANCELLED = "The change of address is cancelled; its link no longer works."
MSG_RESET_DONE = "Your password was reset, and every device was signed out. Sign in with the new password."


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


class PasswordResetView(auth_views.PasswordResetView):
    """Ask for a link by address: the same page, words and status whoever the address belongs to."""

    template_name = "accounts/password_reset.html"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form):
        password_reset_request(request=self.request, email=form.cleaned_data["email"])
        return redirect(self.get_success_url())

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


@method_decorator(no_referrer, name="dispatch")
class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's link page (it moves the token out of the address bar), answering 400 to a bad link."""

    template_name = "accounts/password_reset_confirm.html"

    def render_to_response(self, context, **kwargs):
        if not self.validlink:
            # The request form again, with why: expired, used, forged or mangled links alike.
            context.update(form=PasswordResetForm(), bad_link=MSG_BAD_LINK)
            kwargs["status"] = 400
        return super().render_to_response(context, **kwargs)

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def form_valid(self, form):
        password_reset_complete(request=self.request, form=form)
        messages.success(self.request, MSG_RESET_DONE)
        return redirect("accounts:login")


@require_GET
@no_referrer
def email_verify(request, token):
    """Open an emailed link: confirm the address, or complete a change to the new one."""
    try:
        outcome, user = email_flow.email_confirm(request=request, token=token)
    except email_flow.EmailLinkInvalid:
        return render(request, "accounts/email_verify_failed.html", {"bad_link": email_flow.MSG_BAD_LINK}, status=400)
    done = MSG_EMAIL_CHANGED if outcome == email_flow.CHANGED else MSG_EMAIL_CONFIRMED
    messages.success(request, done.format(email=user.email))
    return redirect("accounts:account" if request.user == user else "accounts:login")


@login_required
@require_POST
def email_link_resend(request):
    sent = email_flow.email_link_resend(request=request)
    if sent:
        messages.success(request, MSG_LINK_RESENT)
    else:
        messages.error(request, MSG_LINK_THROTTLED)
    return redirect("accounts:account")


@login_required
@require_POST
def email_change_cancel(request):
    email_flow.email_change_cancel(request=request)
    messages.success(request, MSG_CHANGE_CANCELLED)
    return redirect("accounts:account")
