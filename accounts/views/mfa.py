"""Sign-in security: the authenticator app, recovery codes, passkeys' names and removal (accounts.flows.mfa)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import reauth_required
from accounts.flows import mfa, passkeys
from accounts.forms import OTPForm, PasskeyNameForm

MSG_MFA_LOST = (
    "Without MFA, anyone who learns your password can sign in as you: the code from your "
    "phone is no longer asked for, and your recovery codes stop working."
)
# An account whose first factor is a passkey: turning the app off never touches its passkeys.
MSG_MFA_LOST_NO_PASSWORD = (
    "Your passkeys keep signing you in, but the code from your phone is no longer asked for after a "
    "password you set, and your recovery codes stop working."
)


def _codes_page(request, codes, *, turned_on=False):
    """Recovery codes, shown once; `turned_on`: they came with the first second factor."""
    user = request.user
    context = {"codes": codes, "turned_on": turned_on, "totp": mfa.totp_enabled(user)}
    return render(request, "accounts/recovery_codes.html", context | {"passkeys": passkeys.passkeys_of(user).exists()})


def _security_page(request, *, form=None, name_error=None, status=200):
    """The sign-in security page: passkeys, then the authenticator app (on, or its enrolment)."""
    user = request.user
    context = {
        "passkeys": passkeys.passkeys_of(user),
        "default_name": passkeys.default_name(request),
        "name_error": name_error,
        "enabled": mfa.totp_enabled(user),
    }
    context["codes_left"] = len(mfa.recovery_codes(user))
    if not context["enabled"]:
        device = mfa.mfa_pending_device(user=user)
        context |= {
            "form": form or OTPForm(),
            "secret": mfa.mfa_secret(device),
            "qr": mfa.mfa_qr_svg(device),
            "otpauth_url": device.config_url,  # a tap opens the app on the phone that cannot scan its own screen
        }
    return render(request, "accounts/mfa.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@reauth_required
def mfa_settings(request):
    """Passkeys and the authenticator app: enrol the app (scan, confirm with a first code, get recovery codes)."""
    if request.method == "GET" or mfa.totp_enabled(request.user):
        return _security_page(request)
    form = OTPForm(request.POST)
    if form.is_valid():
        first = not mfa.mfa_enabled(request.user)
        try:
            codes = mfa.mfa_enable(request=request, token=form.cleaned_data["otp_token"])
        except mfa.CodeRejected as rejected:
            form.add_error("otp_token", str(rejected))
        else:
            return _codes_page(request, codes, turned_on=first)
    return _security_page(request, form=form, status=400)


@login_required
@require_POST
@reauth_required(fresh=True)
def mfa_recovery_codes(request):
    """Replace the recovery codes; the new ones are shown once."""
    # Recovery codes back up a second factor: the authenticator app, or passkeys.
    if not mfa.mfa_enabled(request.user):
        return redirect("accounts:mfa")
    return _codes_page(request, mfa.mfa_new_recovery_codes(request=request))


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
@reauth_required(fresh=True)
def mfa_disable(request):
    """Confirm first: say what protection is lost, then remove the devices on a separate POST."""
    if request.method == "POST":
        mfa.mfa_disable(request=request)
        messages.success(request, "Two-factor authentication is off.")
        return redirect("accounts:account")
    lost = MSG_MFA_LOST if request.user.has_usable_password() else MSG_MFA_LOST_NO_PASSWORD
    return render(request, "accounts/mfa_disable.html", {"lost": lost})


@login_required
@require_POST
def passkey_rename(request, pk):
    """Name a passkey: right after adding it (the name typed beside "Add a passkey"), or later."""
    form = PasskeyNameForm(request.POST)
    if not form.is_valid():
        return _security_page(request, name_error=form.errors["name"][0], status=400)
    device = passkeys.passkey_rename(user=request.user, pk=pk, name=form.cleaned_data["name"])
    if device is None:
        raise Http404("No such passkey.")
    if form.cleaned_data["added"]:
        messages.success(request, f"Passkey “{device.name}” added: you can now sign in with it, without a password.")
        if passkeys.passkey_codes_due(request=request, device=device):
            return _codes_page(request, mfa.recovery_codes(request.user), turned_on=True)
    else:
        messages.success(request, f"Passkey renamed to “{device.name}”.")
    return redirect("accounts:mfa")


@login_required
@require_http_methods(["GET", "POST"])
@reauth_required(fresh=True)
def passkey_remove(request, pk):
    """Confirm first (the passkey stops signing in), then remove it on a separate POST."""
    device = passkeys.passkeys_of(request.user).filter(pk=pk).first()
    if device is None:
        raise Http404("No such passkey.")
    try:
        if request.method == "POST":
            passkeys.passkey_remove(request=request, pk=pk)
            messages.success(request, f"Passkey “{device.name}” removed: it no longer signs you in.")
            return redirect("accounts:mfa")
        if not passkeys.passkey_removable(request.user):
            raise passkeys.LastWayIn(passkeys.MSG_LAST_WAY_IN)
    except passkeys.LastWayIn as refused:
        messages.error(request, str(refused))
        return _security_page(request, status=409)
    return render(request, "accounts/passkey_remove.html", {"passkey": device})
