"""Sign-in and registration forms."""
from django import forms
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm


class LoginForm(AuthenticationForm):
    """Django's sign-in form plus "remember me"."""

    remember_me = forms.BooleanField(
        required=False,
        label="Remember me on this device",
        help_text="Stay signed in after closing the browser. Leave unchecked on shared computers.",
    )


class RegisterForm(UserCreationForm):
    """Django's registration form plus a required email address."""

    email = forms.EmailField(required=True)

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")
