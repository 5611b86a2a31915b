"""The JSON endpoints that django-otp-webauthn's script talks to: add a passkey, sign in, second step, re-auth.

The library's own URLs are not installed: its views sign users in by themselves.
These subclass its JSON base (body parsing, error answers) and call one flow each.
"""

from django.http import JsonResponse
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django_otp_webauthn import exceptions
from django_otp_webauthn.views import BaseWebAuthnView

from accounts.flows import passkeys

# The sign-in page's "remember me" box: the library's script posts only the
# passkey's answer, so static/js/passkeys.js sets this cookie as the ceremony starts.
REMEMBER_COOKIE = "passkey_remember"
REMEMBER_COOKIE_PATH = "/accounts/passkeys/"


def script_config(request, purpose: str | None = None) -> dict:
    """The configuration django-otp-webauthn's script reads from the page (embedded with json_script)."""
    ceremony = {"beginAuthenticationUrl": "", "completeAuthenticationUrl": ""}
    if purpose is not None:
        ceremony = {
            "beginAuthenticationUrl": reverse(f"accounts:passkey_{purpose}_begin"),
            "completeAuthenticationUrl": reverse(f"accounts:passkey_{purpose}_complete"),
        }
    return {
        **ceremony,
        "beginRegistrationUrl": reverse("accounts:passkey_register_begin"),
        "completeRegistrationUrl": reverse("accounts:passkey_register_complete"),
        # No passkey autofill: it would start a ceremony (and a session) for every visitor of the page.
        "autocompleteLoginFieldSelector": None,
        "nextFieldSelector": "input[name='next']",
        "csrfToken": get_token(request),
    }


@method_decorator(never_cache, name="dispatch")
class PasskeyView(BaseWebAuthnView):
    """A POST-only JSON endpoint; a refused answer is recorded and explained, never a 500."""

    http_method_names = ["post"]
    purpose: str

    def handle_exception(self, exc):
        if not isinstance(exc, exceptions.OTPWebAuthnApiError):
            raise exc
        error = passkeys.refusal(exc)
        self.record(error)
        return JsonResponse({"detail": str(error.detail), "code": error.code}, status=error.status_code)

    def record(self, error) -> None:
        passkeys.passkey_refused(
            request=self.request, purpose=self.purpose, error=error, data=getattr(self.request, "data", None)
        )

    def signed_in_only(self):
        if not self.request.user.is_authenticated:
            raise exceptions.NotAuthenticated()

    def next_url(self, default: str) -> str:
        target = self.request.GET.get("next", "")
        safe = url_has_allowed_host_and_scheme(
            target, allowed_hosts={self.request.get_host()}, require_https=self.request.is_secure()
        )
        return target if safe and target else default


class RegisterBegin(PasskeyView):
    def record(self, error):
        passkeys.passkey_register_refused(request=self.request, error=error)

    def post(self, request):
        self.signed_in_only()
        return JsonResponse(passkeys.passkey_register_begin(request=request))


class RegisterComplete(RegisterBegin):
    def post(self, request):
        self.signed_in_only()
        device = passkeys.passkey_add(request=request, data=request.data)
        return JsonResponse({"id": device.pk, "name": device.name})
