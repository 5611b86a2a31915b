"""The account page and its critical actions: email, password, MFA, deletion."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.flows import account as account_flow
from accounts.flows import mfa
from accounts.flows.reauth import reauth_required
from accounts.forms import DeleteAccountForm, EmailChangeForm, OTPForm, PasswordChangeForm
from accounts.views import CLEAR_SITE_DATA

MSG_MFA_LOST = (
    "Without MFA, anyone who learns your password can sign in as you: the code from your "
    "phone is no longer asked for, and your recovery codes stop working."
)
MSG_ENROL_CODE = "That code is not valid. Check the time on your phone and try the current code."


def _account_page(request, *, email_form=None, delete_form=None, status=200):
    context = {
        "email_form": email_form or EmailChangeForm(initial={"email": request.user.email}),
        "delete_form": delete_form or DeleteAccountForm(user=request.user),
        "mfa_enabled": mfa.mfa_enabled(request.user),
        "devices": request.user.sessions.live().count(),
    }
    return render(request, "accounts/account.html", context, status=status)


@login_required
@require_GET
def account(request):
    return _account_page(request)


@login_required
@require_POST
@reauth_required
def email_change(request):
    form = EmailChangeForm(request.POST)
    if not form.is_valid():
        return _account_page(request, email_form=form, status=400)
    account_flow.account_change_email(request=request, email=form.cleaned_data["email"])
    messages.success(request, "Email address changed.")
    return redirect("accounts:account")


@method_decorator([login_required, reauth_required], name="dispatch")
class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = PasswordChangeForm
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:sessions")

    def form_valid(self, form):
        # Django saves the password and gives this session a new key (update_session_auth_hash).
        response = super().form_valid(form)
        keep = form.cleaned_data["keep_other_sessions"]
        ended = account_flow.account_password_changed(request=self.request, keep_other_sessions=keep)
        if keep:
            messages.success(self.request, "Password changed. Your other devices stay signed in.")
        else:
            messages.success(self.request, f"Password changed. Signed out {ended} other session{pluralize(ended)}.")
        return response


@login_required
@require_http_methods(["GET", "POST"])
@reauth_required
def mfa_settings(request):
    """Enrol (scan, confirm with a first code, get recovery codes) or see MFA's state."""
    user = request.user
    if mfa.mfa_enabled(user):
        return render(request, "accounts/mfa.html", {"enabled": True, "codes_left": len(mfa.recovery_codes(user))})
    device = mfa.mfa_pending_device(user=user)
    form = OTPForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = mfa.mfa_enable(request=request, token=form.cleaned_data["otp_token"])
        if codes is not None:
            return render(request, "accounts/recovery_codes.html", {"codes": codes})
        form.add_error("otp_token", MSG_ENROL_CODE)
    context = {"enabled": False, "form": form, "secret": mfa.mfa_secret(device), "qr": mfa.mfa_qr_svg(device)}
    return render(request, "accounts/mfa.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
@reauth_required
def mfa_recovery_codes(request):
    """Replace the recovery codes; the new ones are shown once."""
    if not mfa.mfa_enabled(request.user):
        return redirect("accounts:mfa")
    return render(request, "accounts/recovery_codes.html", {"codes": mfa.mfa_new_recovery_codes(request=request)})


@login_required
@require_POST
def mfa_recovery_codes_download(request):
    """The codes just shown, as a text file (the POST carries them back from the page)."""
    codes = [code for code in request.POST.getlist("code") if code in set(mfa.recovery_codes(request.user))]
    response = HttpResponse(
        "shopdemo recovery codes (each works once)\n\n" + "\n".join(codes) + "\n", content_type="text/plain"
    )
    response["Content-Disposition"] = 'attachment; filename="shopdemo-recovery-codes.txt"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
@reauth_required
def mfa_disable(request):
    """Confirm first: say what protection is lost, then remove the devices on a separate POST."""
    if request.method == "POST":
        mfa.mfa_disable(request=request)
        messages.success(request, "Two-factor authentication is off.")
        return redirect("accounts:account")
    return render(request, "accounts/mfa_disable.html", {"lost": MSG_MFA_LOST})


@login_required
@require_POST
@reauth_required
def account_delete_view(request):
    form = DeleteAccountForm(request.POST, user=request.user)
    if not form.is_valid():
        return _account_page(request, delete_form=form, status=400)
    account_flow.account_delete(request=request)
    response = redirect("cart:catalog")
    response["Clear-Site-Data"] = CLEAR_SITE_DATA
    return response
