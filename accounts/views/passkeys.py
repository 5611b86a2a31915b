"""The JSON endpoints that django-otp-webauthn's script talks to: add a passkey, sign in, second step, re-auth.

The library's own URLs are not installed: its views sign users in by themselves.
These subclass its JSON base (body parsing, error answers) and call one flow each.
"""

import json
from urllib.parse import urlencode

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django_otp_webauthn import exceptions
from django_otp_webauthn.views import BaseWebAuthnView

from accounts.flows import account, passkeys, sign_in
from accounts.flows.reauth import held_on_the_page
from accounts.views import welcome
from shopdemo.redirects import safe_next

# The sign-in page's "remember me" box: the library's script posts only the
# passkey's answer, so static/js/passkeys.js sets this cookie as the ceremony starts.
REMEMBER_COOKIE = "passkey_remember"
REMEMBER_COOKIE_PATH = "/accounts/passkeys/"
# A ceremony's answer is a JSON object of a few kilobytes (attestation certificates included).
MAX_BODY = 64 * 1024


@method_decorator(never_cache, name="dispatch")
class PasskeyView(BaseWebAuthnView):
    """A POST-only JSON endpoint; a refused answer is recorded and explained, never a 500."""

    http_method_names = ["post"]
    purpose: str

    def _parse_request_data(self, request):
        """An empty body (the begin steps), or one small JSON object; anything else is refused with a 400."""
        if request.content_type != "application/json":
            # A form (whose stream the CSRF check may have read already) or anything else: only an empty one.
            if request.META.get("CONTENT_LENGTH", "0") not in ("", "0"):
                raise exceptions.MalformedRequest()
            return {}
        if len(request.body) > MAX_BODY:
            raise exceptions.MalformedRequest()
        if not request.body:
            return {}
        try:
            data = json.loads(request.body)
        except (ValueError, RecursionError) as error:  # bad UTF-8 or JSON; nesting deeper than the parser goes
            raise exceptions.MalformedRequest() from error
        if not isinstance(data, dict):
            raise exceptions.MalformedRequest()
        return data

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

    def done(self, redirect_url: str) -> JsonResponse:
        """What the library's script expects: the passkey used, and where to go next."""
        return JsonResponse({"id": self.request.user.otp_device.pk, "redirect_url": redirect_url})


class RegisterBegin(PasskeyView):
    purpose = "register"

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


class SignUpBegin(PasskeyView):
    """The registration page's "Create account with a passkey": the passkey of an account made only with it."""

    purpose = "sign_up"

    def record(self, error):
        account.account_register_refused(request=self.request, error=error)

    def post(self, request):
        return JsonResponse(account.account_register_passkey_begin(request=request))


class SignUpComplete(SignUpBegin):
    def post(self, request):
        report = account.account_register_passkey(request=request, data=request.data)
        welcome(request, report, MSG_SIGNED_UP.format(username=request.user.get_username()))
        return self.done("")  # the page goes on to its `next` (static/js/passkeys.js)


MSG_SIGNED_UP = (
    "Welcome, {username}: your account is ready, and your passkey signs you in. "
    "Your account page can add a password and recovery codes."
)


class SignInBegin(PasskeyView):
    """The sign-in page's "Sign in with a passkey": any discoverable passkey of this site."""

    purpose = passkeys.SIGN_IN

    def post(self, request):
        return JsonResponse(passkeys.passkey_authenticate_begin(request=request, purpose=self.purpose))


class SignInComplete(SignInBegin):
    def post(self, request):
        remember = request.COOKIES.get(REMEMBER_COOKIE) == "1"
        report = passkeys.passkey_sign_in(request=request, data=request.data, remember=remember)
        welcome(request, report)
        response = self.done(safe_next(request, default=resolve_url(settings.LOGIN_REDIRECT_URL)))
        response.delete_cookie(REMEMBER_COOKIE, path=REMEMBER_COOKIE_PATH, samesite="Strict")
        return response


class SecondStepBegin(PasskeyView):
    """The OTP step's passkey: one of the passkeys of the account whose password was right."""

    purpose = passkeys.SECOND_STEP

    def initial(self, request, *args, **kwargs):
        self.pending = sign_in.sign_in_pending_mfa(request=request)
        if self.pending is None:
            raise passkeys.Refused("expired")

    def record(self, error):
        user = getattr(self, "pending", None) and self.pending.user
        passkeys.passkey_refused(request=self.request, purpose=self.purpose, error=error, data=None, user=user)

    def post(self, request):
        return JsonResponse(
            passkeys.passkey_authenticate_begin(request=request, purpose=self.purpose, user=self.pending.user)
        )


class SecondStepComplete(SecondStepBegin):
    def post(self, request):
        report = passkeys.passkey_second_step(request=request, pending=self.pending, data=request.data)
        welcome(request, report)
        return self.done(safe_next(request, default=resolve_url(settings.LOGIN_REDIRECT_URL)))


class ReauthBegin(PasskeyView):
    """Re-authentication with a passkey of the signed-in user, user verification required."""

    purpose = passkeys.REAUTH

    def initial(self, request, *args, **kwargs):
        self.signed_in_only()

    def record(self, error):
        user = self.request.user if self.request.user.is_authenticated else None
        passkeys.passkey_refused(request=self.request, purpose=self.purpose, error=error, data=None, user=user)

    def post(self, request):
        return JsonResponse(
            passkeys.passkey_authenticate_begin(request=request, purpose=self.purpose, user=request.user)
        )


class ReauthComplete(ReauthBegin):
    def post(self, request):
        passkeys.passkey_reauthenticate(request=request, data=request.data)
        target = safe_next(request, default=reverse("accounts:account"))
        if held_on_the_page(request, target):
            return self.done("")  # the one screen sends the held POST (static/js/passkeys.js)
        return self.done(f"{reverse('accounts:reauth_resume')}?{urlencode({'next': target})}")
