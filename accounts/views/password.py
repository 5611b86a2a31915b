"""The password: change it, or reset a forgotten one by mail (accounts.flows.password)."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm
from django.shortcuts import redirect
from django.template.defaultfilters import pluralize
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator

from accounts.decorators import no_referrer, reauth_required
from accounts.flows import password as password_flow
from accounts.forms import PasswordChangeForm, SetPasswordForm

MSG_BAD_LINK = (
    "This reset link does not work: it has expired, has been used already, or was not copied whole. "
    "Ask for a new one below."
)
MSG_RESET_DONE = "Your password was reset, and every device was signed out. Sign in with the new password."


class PasswordResetView(auth_views.PasswordResetView):
    """Ask for a link by address: the same page, words and status whoever the address belongs to."""

    template_name = "accounts/password_reset.html"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form):
        password_flow.password_reset_request(request=self.request, email=form.cleaned_data["email"])
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
        password_flow.password_reset_complete(request=self.request, form=form)
        messages.success(self.request, MSG_RESET_DONE)
        return redirect("accounts:login")


@method_decorator([login_required, reauth_required(fresh=True)], name="dispatch")
class PasswordChangeView(auth_views.PasswordChangeView):
    """Change the password; an account that has none (its first factor is a passkey) sets one, Django's way."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:sessions")

    def get_form_class(self):
        return PasswordChangeForm if self.request.user.has_usable_password() else SetPasswordForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_invalid(self, form):
        # A 4xx: the form again, and the re-authentication is not spent on it.
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def form_valid(self, form):
        # Django saves the password and gives this session a new key (update_session_auth_hash).
        response = super().form_valid(form)
        keep = form.cleaned_data["keep_other_sessions"]
        ended = password_flow.password_changed(request=self.request, keep_other_sessions=keep)
        done = "Password changed." if isinstance(form, PasswordChangeForm) else "Password set."
        if keep:
            messages.success(self.request, f"{done} Your other devices stay signed in.")
        else:
            messages.success(self.request, f"{done} Signed out {ended} other session{pluralize(ended)}.")
        return response
