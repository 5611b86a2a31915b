"""Multi-factor authentication on django-otp: TOTP apps plus single-use recovery codes.

django-otp does the cryptography and the replay and throttling rules (a TOTP
code works once; a recovery code is deleted when used). This module decides
when each step may happen, and owns what switching MFA on or off entails.
"""

from base64 import b32encode

import segno
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.utils.safestring import mark_safe
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.flows.sessions import sessions_end_others
from accounts.monitoring import audit
from accounts.monitoring.security import notify_user

TOTP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"

MSG_THROTTLED = "Too many wrong codes: wait {seconds} second{plural}, then enter the current code."
MSG_BAD_CODE = "That code is not valid. Enter the current code from your app, or an unused recovery code."
MSG_ENROL_CODE = "That code is not the one your app shows for shopdemo now. Enter the current 6-digit code."


class CodeRejected(Exception):
    """A code that signs nobody in; the message says why, for the user."""


def mfa_enabled(user) -> bool:
    """Any second factor is confirmed: an authenticator app or a passkey."""
    return user_has_device(user, confirmed=True)


def totp_enabled(user) -> bool:
    """An authenticator app is confirmed (recovery codes come with it)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def has_codes(user) -> bool:
    """The account has something to type at the code step: an authenticator app, or unused recovery codes."""
    return totp_enabled(user) or StaticToken.objects.filter(device__user=user).exists()


def _normalise(token) -> str:
    """Codes as people type them: spaces and case do not matter."""
    return (token or "").strip().replace(" ", "").lower()


def _refuse_while_throttled(device) -> None:
    """Raise CodeRejected, saying how long to wait, while django-otp refuses to check codes for `device`.

    django-otp answers a throttled device's verify_token() with False, exactly as
    for a wrong code; asking first keeps a right code sent too soon from being
    called wrong.
    """
    allowed, details = device.verify_is_allowed()
    if not allowed:
        locked_until = (details or {}).get("locked_until")
        seconds = max(1, int((locked_until - timezone.now()).total_seconds())) if locked_until else 1
        raise CodeRejected(MSG_THROTTLED.format(seconds=seconds, plural=pluralize(seconds)))


def mfa_check_code(*, request, user, token) -> object:
    """Return the device that accepts `token`, or raise CodeRejected.

    The code's shape picks the device (six digits: the app; else a recovery
    code), so a wrong code throttles only the device it was meant for. A wrong
    code counts like a wrong password (V6.5.5: axes locks code guessing too);
    while django-otp throttles, no code is checked and nothing is counted.
    """
    token = _normalise(token)
    model = TOTPDevice if token.isdigit() else StaticDevice
    device = model.objects.filter(user=user, confirmed=True).first()
    if device is not None and token:
        _refuse_while_throttled(device)
        if device.verify_token(token):
            return device
    user_login_failed.send(__name__, credentials={"username": user.get_username()}, request=request)
    raise CodeRejected(MSG_BAD_CODE)


def mfa_pending_device(*, user) -> TOTPDevice:
    """Return the user's unconfirmed TOTP device, creating one with a fresh secret."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)


QR_QUIET_ZONE = 4  # modules of white around the code (ISO/IEC 18004)
QR_TITLE = "QR code for your authenticator app"


def mfa_secret(device: TOTPDevice) -> str:
    """The secret as base32, the form authenticator apps accept for manual entry."""
    return b32encode(device.bin_key).decode()


def mfa_qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL as an inline SVG QR code (no external service sees the secret).

    No width or height, only a viewBox, so CSS can scale it without clipping;
    the 4-module quiet zone and a white background keep it scannable at any
    size and in dark mode.
    """
    qr = segno.make(device.config_url, error="m")
    return mark_safe(
        qr.svg_inline(
            omitsize=True, border=QR_QUIET_ZONE, dark="#000", light="#fff", title=QR_TITLE, svgclass="qr-code"
        )
    )


def recovery_codes(user) -> list[str]:
    return list(StaticToken.objects.filter(device__user=user).values_list("token", flat=True))


def make_recovery_codes(user) -> list[str]:
    """New recovery codes for `user`, the old ones deleted: made when a first second factor is turned on."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(settings.RECOVERY_CODES_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def _changed(*, request, device, enabled: bool) -> None:
    """After MFA is switched on or off: new key, other sessions ended (V7.4.3), the user told."""
    request.session.cycle_key()
    if device is not None:
        otp_login(request, device)
    audit.record("authn_mfa_change", request=request, change="enabled" if enabled else "disabled")
    sessions_end_others(user=request.user, reason="mfa_change", request=request)
    state = "switched on" if enabled else "switched off"
    notify_user(
        user=request.user,
        subject=f"Two-factor authentication {state}",
        body=f"Two-factor authentication was {state} for your account.",
    )


def mfa_enable(*, request, token: str) -> list[str]:
    """Confirm the pending TOTP device with its first code; return new recovery codes, or raise CodeRejected."""
    user = request.user
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
        if device is not None:
            _refuse_while_throttled(device)  # writes nothing: raising here loses nothing
        # A wrong code is answered after the commit, so django-otp's throttle count is kept.
        accepted = device is not None and device.verify_token(_normalise(token))
        if accepted:
            TOTPDevice.objects.filter(user=user, confirmed=True).delete()
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            codes = make_recovery_codes(user)
    if not accepted:
        raise CodeRejected(MSG_ENROL_CODE)
    _changed(request=request, device=device, enabled=True)
    return codes


def mfa_disable(*, request) -> None:
    """Remove the authenticator app and the recovery codes; passkeys stay (each is removed on its own)."""
    TOTPDevice.objects.filter(user=request.user).delete()
    StaticDevice.objects.filter(user=request.user).delete()
    _changed(request=request, device=None, enabled=False)


def mfa_new_recovery_codes(*, request) -> list[str]:
    """Replace the user's recovery codes; the old ones stop working. The new ones are shown once."""
    with transaction.atomic():
        codes = make_recovery_codes(request.user)
    audit.record("authn_mfa_change", request=request, change="recovery_codes_regenerated")
    notify_user(
        user=request.user,
        subject="New recovery codes",
        body="New recovery codes were made for your account; the old ones no longer work.",
    )
    return codes
