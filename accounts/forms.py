"""Sign-in, registration, OTP and re-authentication forms."""

from django import forms
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.contrib.auth.forms import PasswordChangeForm as DjangoPasswordChangeForm
from django.contrib.auth.forms import SetPasswordForm as DjangoSetPasswordForm
from django.contrib.auth.signals import user_login_failed

from accounts.flows.mfa import CodeRejected, has_codes, mfa_check_code, mfa_enabled
from accounts.flows.passkeys import passkeys_of
from accounts.models import EmailState

MSG_USE_PASSKEY = "Your account signs in with a passkey as its second step: confirm with your passkey."
MSG_NO_PASSWORD = "Your account has no password: it signs in with a passkey. Confirm with your passkey."
MSG_REAUTH_FAILED = "That is not your password. Please type it again."
USERNAME_MAX_LENGTH = get_user_model()._meta.get_field("username").max_length
EMAIL_MAX_LENGTH = get_user_model()._meta.get_field("email").max_length  # 254; a form EmailField allows 320
# Longer than any password a person types; hashing megabytes is work an attacker chooses.
PASSWORD_MAX_LENGTH = 1024


def check_password_counted(request, *, username: str, password: str) -> bool:
    """Check a password the way sign-in does: every failure is recorded and counts toward the lockout.

    Input longer than any account could have is a failure too, reported with
    the name cut to what the audit trail and axes hold, and never hashed.
    """
    if len(username) > USERNAME_MAX_LENGTH or len(password) > PASSWORD_MAX_LENGTH:
        user_login_failed.send(
            sender=__name__, credentials={"username": username[:USERNAME_MAX_LENGTH]}, request=request
        )
        return False
    # authenticate() goes through axes: failures are counted, a lockout answers 429.
    return authenticate(request, username=username, password=password) is not None


class LoginForm(AuthenticationForm):
    """Django's sign-in form plus "remember me"; over-long input is a recorded failure, not a 500."""

    remember_me = forms.BooleanField(
        required=False,
        label="Remember me on this device",
        help_text="Stay signed in after closing the browser. Leave unchecked on shared computers.",
    )

    def clean(self):
        # Django's form sets the username's max_length after the field is built,
        # so it is not validated; django-axes would then store it in varchar(255).
        username, password = self.cleaned_data.get("username") or "", self.cleaned_data.get("password") or ""
        if len(username) > USERNAME_MAX_LENGTH or len(password) > PASSWORD_MAX_LENGTH:
            check_password_counted(self.request, username=username, password=password)
            raise self.get_invalid_login_error()
        return super().clean()


class RegisterForm(UserCreationForm):
    """Django's registration form plus a required email address."""

    email = forms.EmailField(required=True, max_length=EMAIL_MAX_LENGTH)

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")
        # Django's own ("Required. 150 characters or fewer. …") speaks to developers.
        help_texts = {"username": "The name you sign in with: letters, digits and . @ + - _ only."}


class PasskeyRegisterForm(RegisterForm):
    """The same form for an account whose first factor is a passkey: no password, Django's unusable one."""

    password1 = password2 = None

    def set_password_and_save(self, user, password_field_name="password1", commit=True):
        user.set_unusable_password()  # a password can be set later (the password page, or a reset link)
        if commit:
            user.save()
        return user


class OTPForm(forms.Form):
    """A six-digit code from the authenticator app, or one recovery code."""

    otp_token = forms.CharField(
        label="Code",
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autocapitalize": "none"}),
    )


class PasskeyNameForm(forms.Form):
    """What the user calls a passkey, to tell several apart."""

    name = forms.CharField(max_length=64)
    added = forms.BooleanField(required=False)  # set by the form that names a passkey just added


class ReauthForm(forms.Form):
    """The password again, and a code when MFA is on; failures count toward the lockout."""

    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    otp_token = forms.CharField(
        label="Code", required=False, max_length=16, widget=forms.TextInput(attrs={"autocomplete": "one-time-code"})
    )

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.passkeys = passkeys_of(request.user).exists()
        # A code is asked for when the account has a second factor; one whose only
        # second factor is a passkey has no code to type, and confirms with the passkey.
        self.mfa = has_codes(request.user)
        # An account without a password (its first factor is a passkey) is never asked for one.
        self.password_allowed = request.user.has_usable_password() and (self.mfa or not mfa_enabled(request.user))
        self.device = None
        if not self.mfa:
            del self.fields["otp_token"]

    def clean(self):
        if not self.request.user.has_usable_password():
            raise forms.ValidationError(MSG_NO_PASSWORD)
        if not self.password_allowed:
            raise forms.ValidationError(MSG_USE_PASSKEY)
        user, password = self.request.user, self.cleaned_data.get("password") or ""
        if not check_password_counted(self.request, username=user.get_username(), password=password):
            raise forms.ValidationError(MSG_REAUTH_FAILED)
        if self.mfa:
            try:
                self.device = mfa_check_code(request=self.request, user=user, token=self.cleaned_data.get("otp_token"))
            except CodeRejected as rejected:
                raise forms.ValidationError(str(rejected))
        return self.cleaned_data


class SetPasswordForm(DjangoSetPasswordForm):
    """Django's form for an account without a password (its first factor is a passkey), plus the choice of V7.4.3.

    Ending the other sessions is the default: a form posted without the box
    (a script, an older page) ends them too.
    """

    keep_other_sessions = forms.BooleanField(
        required=False, label="Keep my other devices signed in (not recommended if you suspect misuse)"
    )

    def __init__(self, user, *args, request, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.request = request


class PasswordChangeForm(SetPasswordForm, DjangoPasswordChangeForm):
    """Django's form: the current password is required (V6.2.3); the choice of V7.4.3 as when setting one."""

    def clean_old_password(self):
        # Every password check counts toward the lockout: a stolen session
        # cannot guess the password here, re-auth or not.
        old_password = self.cleaned_data["old_password"]
        if not check_password_counted(self.request, username=self.user.get_username(), password=old_password):
            raise forms.ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old_password


class EmailChangeForm(forms.Form):
    # The column's length (RFC 5321's path limit): longer is a clear 400, not a database error.
    email = forms.EmailField(label="New email address", max_length=EmailState._meta.get_field("pending").max_length)


class DeleteAccountForm(forms.Form):
    """Deleting the account is confirmed by typing the username."""

    confirm_username = forms.CharField(label="Type your username to confirm")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_confirm_username(self):
        typed = self.cleaned_data["confirm_username"]
        if typed != self.user.get_username():
            raise forms.ValidationError("That is not your username; nothing was deleted.")
        return typed
