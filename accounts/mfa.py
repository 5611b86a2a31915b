"""Multi-factor authentication on django-otp: TOTP apps plus single-use recovery codes.

django-otp does the cryptography and the replay and throttling rules (a TOTP
code works once; a recovery code is deleted when used). This module only
decides when each step may happen.
"""

from base64 import b32encode

import segno
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.safestring import mark_safe
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

TOTP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


def mfa_enabled(user) -> bool:
    return user_has_device(user, confirmed=True)


def totp_enabled(user) -> bool:
    """An authenticator app is confirmed (passkeys are the user's other second factor)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


class Throttled(Exception):
    """django-otp is making the user wait after wrong codes; the code was not checked."""

    def __init__(self, seconds: int):
        super().__init__(seconds)
        self.seconds = seconds


def mfa_verify(*, user, token: str):
    """Return the device that accepts `token`, or None; raise Throttled while django-otp says wait.

    The code's shape picks the device (six digits: the app; else a recovery
    code), so a wrong code throttles only the device it was meant for.
    """
    token = (token or "").strip().replace(" ", "").lower()
    model = TOTPDevice if token.isdigit() else StaticDevice
    device = model.objects.filter(user=user, confirmed=True).first()
    if device is None or not token:
        return None
    allowed, details = device.verify_is_allowed()
    if not allowed:
        locked_until = (details or {}).get("locked_until")
        raise Throttled(max(1, int((locked_until - timezone.now()).total_seconds())) if locked_until else 1)
    return device if device.verify_token(token) else None


def mfa_pending_device(*, user) -> TOTPDevice:
    """Return the user's unconfirmed TOTP device, creating one with a fresh secret."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)


def mfa_secret(device: TOTPDevice) -> str:
    """The secret as base32, the form authenticator apps accept for manual entry."""
    return b32encode(device.bin_key).decode()


def mfa_qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL as an inline SVG QR code (no external service sees the secret)."""
    return mark_safe(
        segno.make(device.config_url, error="m").svg_inline(scale=5, title="QR code for your authenticator app")
    )


def _new_recovery_codes(user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(settings.RECOVERY_CODES_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@transaction.atomic
def mfa_confirm(*, user, token: str) -> list[str] | None:
    """Confirm the pending TOTP device with its first code; return new recovery codes, or None."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if device is None or not device.verify_token((token or "").strip()):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return _new_recovery_codes(user)


@transaction.atomic
def mfa_regenerate_recovery_codes(*, user) -> list[str]:
    """Replace the user's recovery codes; the old ones stop working."""
    return _new_recovery_codes(user)


def mfa_disable(*, user) -> None:
    """Remove the authenticator app and the recovery codes; passkeys stay (each is removed on its own)."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def recovery_codes(user) -> list[str]:
    return list(StaticToken.objects.filter(device__user=user).values_list("token", flat=True))
