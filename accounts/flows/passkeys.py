"""Passkeys (WebAuthn) on django-otp-webauthn: add, name and remove them; sign in or re-authenticate with one.

django-otp-webauthn and py_webauthn verify each ceremony (challenge, origin, RP ID,
signature, user verification, sign counter). This module decides which ceremony may
happen when and for whom, and owns what each one entails: the sign-in, the audit
records, the mails, the sessions ended.
"""

import json
import re

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.db import IntegrityError, transaction
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp_webauthn import exceptions
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.models import WebAuthnCredential
from django_otp_webauthn.settings import app_settings
from django_otp_webauthn.utils import rewrite_exceptions
from webauthn.helpers import base64url_to_bytes, parse_authentication_credential_json
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidJSONStructure
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialUserEntity,
    UserVerificationRequirement,
)

from accounts import backend_paths
from accounts.devices import describe
from accounts.flows import sign_in
from accounts.flows.mfa import make_recovery_codes, mfa_enabled, totp_enabled
from accounts.flows.reauth import reauthenticate, recently_authenticated
from accounts.flows.sessions import sessions_end_others
from accounts.monitoring import audit
from accounts.monitoring.security import notify_user
from accounts.sessions import policy as session_policy
from cart.services import MergeReport

# What an authentication ceremony is for. Each has its own rules, and an answer
# to one ceremony is never accepted by another (the state records which it was).
SIGN_IN = "sign_in"  # passwordless: a discoverable credential, no username typed
SECOND_STEP = "second_step"  # after the password, instead of a code
REAUTH = "reauth"  # before a critical action, instead of the password
# Passwordless sign-in and re-authentication stand in for the password: the
# authenticator must verify the user (PIN, fingerprint, face), not only presence.
USER_VERIFICATION = {SIGN_IN: True, SECOND_STEP: False, REAUTH: True}

REGISTER_STATE = session_policy.PASSKEY_REGISTER
AUTH_STATE = session_policy.PASSKEY_AUTHENTICATE
CODES_DUE = "_passkey_codes_due"  # the first passkey just turned two-step sign-in on: show its codes once
NAME_MAX_LENGTH = 64  # django-otp's Device.name
# With the RP ID localhost, a page on any port of it (make run, make serve's BIND, make cluster's balancer).
LOCAL_ORIGIN = re.compile(r"http://localhost(:[0-9]{1,5})?")

# What the user is told when a passkey answer is refused, by reason (recorded too).
REFUSALS = {
    "expired": "This passkey attempt has expired or was already used. Please try again.",
    "unknown_credential": (
        "This passkey is not registered here (perhaps it was removed). Sign in with your password instead."
    ),
    "wrong_account": "That passkey belongs to another account. Use a passkey of this account.",
    "foreign_origin": (
        "This passkey was made for another site (its address differs from this page's), so it was refused."
    ),
    "challenge_mismatch": "This passkey answer was not made for this attempt, so it was refused. Please try again.",
    "sign_count": (
        "This passkey's counter went backwards, which is what a copied passkey looks like, so it was "
        "refused. If this keeps happening, remove the passkey and add it again."
    ),
    "user_not_verified": "Your passkey did not confirm it is you (PIN, fingerprint or face). Please try again.",
    "disabled": "This passkey or its account cannot be used to sign in.",
    "signed_out": "You are not signed in (any more): sign in first.",
    "locked": "Too many failed sign-ins: wait a few minutes, then try again.",
    "reauth": "Confirm it's you again before adding a passkey: reload this page.",
    "invalid": "The passkey's answer could not be verified, so nobody was signed in. Please try again.",
    "malformed": "The browser's message could not be read (it was not a small JSON object). Reload and try again.",
    "already_registered": "This passkey is already registered here: sign in with it, or try another one.",
    "username_taken": (
        "That username was taken while your passkey was being made, so no account was created. Choose another username."
    ),
}
LIBRARY_REASONS = {
    exceptions.InvalidState: "expired",
    exceptions.CredentialNotFound: "unknown_credential",
    exceptions.CredentialUserMismatch: "wrong_account",
    exceptions.CredentialDisabled: "disabled",
    exceptions.UserDisabled: "disabled",
    exceptions.NotAuthenticated: "signed_out",
    exceptions.MalformedRequest: "malformed",
}
# py_webauthn says what failed in its message; these words pick the reason.
CAUSES = [
    ("sign count", "sign_count"),
    ("origin", "foreign_origin"),
    ("challenge", "challenge_mismatch"),
    ("user verification", "user_not_verified"),
]


class Refused(exceptions.OTPWebAuthnApiError):
    """An answer that proves nothing; `reason` is a key of REFUSALS."""

    status_code = 400

    def __init__(self, reason: str, status_code: int = 400):
        super().__init__(detail=REFUSALS[reason], code=reason)
        self.status_code = status_code


class PasskeyHelper(WebAuthnHelper):
    """django-otp-webauthn's helper: origins by rule, and a new passkey named after the device it was made on."""

    client_origin = ""

    def register_complete(self, user, state, data):
        self.client_origin = _client_origin(data)
        return super().register_complete(user=user, state=state, data=data)

    def authenticate_complete(self, user, state, data):
        self.client_origin = _client_origin(data)
        return super().authenticate_complete(user=user, state=state, data=data)

    def get_allowed_origins(self) -> list[str]:
        """The configured origins; with the RP ID localhost also the answer's own, if it is a localhost port."""
        origins = super().get_allowed_origins()
        if self.get_relying_party_domain() == "localhost" and LOCAL_ORIGIN.fullmatch(self.client_origin):
            return [*origins, self.client_origin]
        return origins

    def create_credential(self, user, response, parsed_credential, original_data):
        device = super().create_credential(user, response, parsed_credential, original_data)
        device.name = default_name(self.request)
        return device


class SignUpHelper(PasskeyHelper):
    """The ceremony for an account that does not exist yet: its user handle is drawn before the account."""

    def __init__(self, request, handle: bytes):
        super().__init__(request)
        self.handle = handle

    def get_user_entity(self, user) -> PublicKeyCredentialUserEntity:
        # The library keeps handles in a row per user; this user has no row yet (it is stored with the account).
        return PublicKeyCredentialUserEntity(
            id=self.handle, name=self.get_credential_name(user), display_name=self.get_credential_display_name(user)
        )

    def get_generate_registration_options_kwargs(self, *, user) -> dict:
        """The library's options, but nothing to exclude and user verification required.

        The library lists the account's passkeys for the authenticator to skip, a
        query Django refuses for an unsaved user (a new account has none), and it
        only prefers user verification: this passkey is the account's only factor.
        """
        entity, rp = self.get_user_entity(user), self.get_relying_party()
        options = {
            "attestation": self.get_attestation_conveyance_preference(),
            "authenticator_selection": AuthenticatorSelectionCriteria(
                user_verification=UserVerificationRequirement.REQUIRED,
                resident_key=self.get_discoverable_credentials_preference(),
            ),
            "challenge": self.generate_challenge(),
            "exclude_credentials": [],
            "rp_id": rp.id,
            "rp_name": rp.name,
            "user_display_name": entity.display_name,
            "user_id": entity.id,
            "user_name": entity.name,
            "timeout": app_settings.OTP_WEBAUTHN_TIMEOUT_SECONDS * 1000,
        }
        if algorithms := self.get_supported_key_algorithms():
            options["supported_pub_key_algs"] = algorithms
        return options


def _client_origin(data) -> str:
    """The origin the browser wrote into the answer's client data ("" if unreadable: verification then refuses it)."""
    try:
        origin = json.loads(base64url_to_bytes(data["response"]["clientDataJSON"]))["origin"]
    except (ValueError, TypeError, KeyError):
        return ""
    return origin if isinstance(origin, str) else ""


def default_name(request) -> str:
    """Name a new passkey after the browser and system it was made on, e.g. 'Chrome on Linux'."""
    return describe(request.META.get("HTTP_USER_AGENT", ""), with_version=False)[:NAME_MAX_LENGTH]


def passkeys_of(user):
    """The user's passkeys, most recently used first."""
    return WebAuthnCredential.objects.filter(user=user).order_by("-last_used_at", "-created_at")


def _take_state(request, key: str) -> dict:
    """Pop a ceremony's state (saved at once, so that an answer is never checked twice), or raise."""
    state = request.session.pop(key, None)
    if state is None:
        raise Refused("expired")
    request.session.save()
    return state


def refusal(error: exceptions.OTPWebAuthnApiError) -> Refused:
    """Say why the library refused an answer, in this site's words, with the library's status code."""
    if isinstance(error, Refused):
        return error
    cause = str(error.__cause__ or "").lower()
    reason = LIBRARY_REASONS.get(type(error)) or next((reason for words, reason in CAUSES if words in cause), "invalid")
    return Refused(reason, error.status_code)


def _verify(helper_call):
    """Run a library verification; turn every refusal, and input too malformed to parse, into Refused."""
    try:
        with rewrite_exceptions():
            return helper_call()
    except exceptions.OTPWebAuthnApiError as error:
        raise refusal(error) from error
    except (ValueError, TypeError, KeyError) as error:  # e.g. base64 or JSON that py_webauthn does not catch
        raise Refused("invalid") from error


# --- adding, naming and removing ------------------------------------------------


def passkey_register_begin(*, request) -> dict:
    """Start adding a passkey for the signed-in user: return the options for the browser."""
    # The page that offers this is behind re-auth, but may have stayed open past the window.
    if not recently_authenticated(request):
        raise Refused("reauth", 403)
    options, state = PasskeyHelper(request).register_begin(user=request.user)
    request.session[REGISTER_STATE] = state
    return options


def passkey_add(*, request, data: dict) -> WebAuthnCredential:
    """Verify the browser's new credential and save it, named after this device; tell the user."""
    state = _take_state(request, REGISTER_STATE)
    if not recently_authenticated(request):
        raise Refused("reauth", 403)
    # The first second factor, whatever it is, turns two-step sign-in on: a password
    # then needs it, so recovery codes are made at once, or a lost phone locks the user out.
    first = not mfa_enabled(request.user)
    with transaction.atomic():
        device = passkey_created(helper=PasskeyHelper(request), user=request.user, state=state, data=data)
        if first:
            make_recovery_codes(request.user)
    if first:
        request.session[CODES_DUE] = device.pk
    _changed(request=request, change="passkey_added", name=device.name)
    # The session is now as strong as a passkey sign-in, unless a code already proved more.
    if not request.user.is_verified():
        otp_login(request, device)
    return device


def passkey_created(*, helper: PasskeyHelper, user, state: dict, data: dict) -> WebAuthnCredential:
    """Verify a registration answer and store its passkey for `user`; Refused if it proves nothing."""
    try:
        with transaction.atomic():
            return _verify(lambda: helper.register_complete(user=user, state=state, data=data))
    except IntegrityError as error:  # a credential id that is already stored (any account's)
        raise Refused("already_registered", 409) from error


def passkey_codes_due(*, request, device) -> bool:
    """Whether `device` is the first passkey just added, whose recovery codes are still to be shown (once)."""
    return request.session.pop(CODES_DUE, None) == device.pk


def passkey_rename(*, user, pk: int, name: str) -> WebAuthnCredential | None:
    """Rename one of the user's passkeys; None if the user has no such passkey."""
    device = passkeys_of(user).filter(pk=pk).first()
    if device is not None:
        device.name = name.strip()[:NAME_MAX_LENGTH] or device.name
        device.save(update_fields=["name"])
    return device


class LastWayIn(Exception):
    """The passkey is the only way into an account that has no password: removing it would lock the owner out."""


MSG_LAST_WAY_IN = (
    "This passkey is the only way into your account, which has no password: set a password or add "
    "another passkey first, then remove this one."
)


def passkey_removable(user) -> bool:
    """Whether the user keeps a way in without one of their passkeys: a password, or another passkey."""
    return user.has_usable_password() or passkeys_of(user).count() > 1


def passkey_remove(*, request, pk: int) -> WebAuthnCredential | None:
    """Delete one of the user's passkeys; it signs nobody in from now on. None if there is no such passkey."""
    user = request.user
    with transaction.atomic():
        # The account locked and read afresh: two removals at once cannot each leave the other's passkey as
        # the last way in and then both go, nor can a password removed meanwhile go unseen.
        locked = get_user_model().objects.select_for_update().get(pk=user.pk)
        device = passkeys_of(user).filter(pk=pk).first()
        if device is None:
            return None
        if not passkey_removable(locked):
            raise LastWayIn(MSG_LAST_WAY_IN)
        device.delete()
        last = not passkeys_of(user).exists() and not totp_enabled(user)
        if last:
            # The recovery codes backed up passkeys that are gone: two-factor sign-in is off.
            StaticDevice.objects.filter(user=user).delete()
    _changed(request=request, change="passkey_removed", name=device.name, consequence=MSG_LAST_FACTOR if last else "")
    return device


MSG_LAST_FACTOR = (
    " It was the account's last second factor: two-factor authentication is now off, the recovery codes"
    " were deleted, and the password alone signs in."
)


def _changed(*, request, change: str, name: str, consequence: str = "") -> None:
    """As for any MFA change: a new key, the other sessions ended (V7.4.3), a record and a mail saying what it cost."""
    request.session.cycle_key()
    audit.record("authn_mfa_change", request=request, change=change, name=name)
    sessions_end_others(user=request.user, reason="mfa_change", request=request)
    what = "added to" if change == "passkey_added" else "removed from"
    subject = f"A passkey was {what} your account" + (": two-factor authentication is off" if consequence else "")
    notify_user(
        user=request.user,
        subject=subject,
        body=f'The passkey "{name}" was {what} your shopdemo account.{consequence}',
    )


# --- authentication ceremonies ---------------------------------------------------


def passkey_authenticate_begin(*, request, purpose: str, user=None) -> dict:
    """Start a ceremony for `purpose`: for a known user only their passkeys; else any discoverable one."""
    options, state = PasskeyHelper(request).authenticate_begin(
        user=user, require_user_verification=USER_VERIFICATION[purpose]
    )
    request.session[AUTH_STATE] = {**state, "purpose": purpose}
    return options


def passkey_verify(*, request, purpose: str, data: dict, user=None) -> WebAuthnCredential:
    """Return the passkey whose answer proves `purpose` (for `user`, if given), its counter updated; else raise."""
    state = _take_state(request, AUTH_STATE)
    # An answer to a ceremony started for another purpose (say, a second step
    # that did not need user verification) is never good for this one.
    if state.pop("purpose", None) != purpose or state["require_user_verification"] != USER_VERIFICATION[purpose]:
        raise Refused("expired")
    with transaction.atomic():
        device = _verify(lambda: PasskeyHelper(request).authenticate_complete(user=user, state=state, data=data))
    if not device.confirmed or not device.user.is_active:
        raise Refused("disabled", 403)
    return device


def passkey_sign_in(*, request, data: dict, remember: bool) -> MergeReport:
    """Sign in the owner of a discoverable passkey, no username typed: a sign-in like any other."""
    device = passkey_verify(request=request, purpose=SIGN_IN, data=data)
    user = device.user
    _not_locked_out(request, user)
    user.backend = backend_paths.PASSKEY
    report = sign_in.sign_in(request=request, user=user, remember=remember, method=session_policy.PASSKEY)
    # A passkey that verified its user is both factors: the session is verified as after a code.
    otp_login(request, device)
    return report


def _not_locked_out(request, user) -> None:
    # A lockout of this account from this address (wrong passwords or codes)
    # holds for every way of signing in.
    if not AxesProxyHandler.is_allowed(request, {"username": user.get_username()}):
        raise Refused("locked", 429)


def passkey_second_step(*, request, pending: sign_in.PendingMFA, data: dict) -> MergeReport:
    """Complete a sign-in whose password was right with one of that account's passkeys."""
    _not_locked_out(request, pending.user)
    device = passkey_verify(request=request, purpose=SECOND_STEP, data=data, user=pending.user)
    return sign_in.sign_in_second_factor(request=request, pending=pending, device=device)


def passkey_reauthenticate(*, request, data: dict) -> None:
    """Re-authenticate the signed-in user with one of their passkeys, user verification required."""
    device = passkey_verify(request=request, purpose=REAUTH, data=data, user=request.user)
    reauthenticate(request=request, device=device, method=session_policy.PASSKEY)


def passkey_register_refused(*, request, error: Refused) -> None:
    audit.record("authn_mfa_change_fail", request=request, change="passkey_added", reason=error.code)


def passkey_refused(*, request, purpose: str, error: Refused, data, user=None) -> None:
    """Record a refused answer; when the account is known it counts like a wrong password (axes)."""
    owner = user or _owner(data)
    details = {"method": "passkey", "purpose": purpose, "reason": error.code}
    # Refused because of a lockout: no new failure (it would only extend the lockout).
    if owner is not None and error.code != "locked":
        user_login_failed.send(__name__, credentials={"username": owner.get_username(), **details}, request=request)
    else:
        audit.record("authn_login_fail", request=request, username=owner.get_username() if owner else "", **details)


def _owner(data):
    """The account whose passkey an answer names, if any (to record who was targeted)."""
    try:
        credential = parse_authentication_credential_json(data)
        return WebAuthnCredential.get_by_credential_id(credential.raw_id).user
    except (
        InvalidJSONStructure,
        InvalidAuthenticationResponse,
        ValueError,
        TypeError,
        WebAuthnCredential.DoesNotExist,
    ):
        return None  # unparsable or unknown: it names nobody
