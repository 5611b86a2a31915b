"""The password: its change, and the reset of a forgotten one.

Reset: a single-use, time-limited link by mail, then a new password (ASVS V6.4).

The request answers the same, in the same time, whether or not an account
has the address: the lookups and the audit row are the same for both, and
so is the one task it queues; the worker looks the account up again and
builds the link (its token never rests in the queue) when it sends. Django's
token generator makes the link single-use: it hashes the password and the
last sign-in, so a reset (or a sign-in) voids it, and PASSWORD_RESET_TIMEOUT
ends it.
"""

import unicodedata
from datetime import timedelta

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp_webauthn.models import WebAuthnCredential

from accounts import throttle
from accounts.flows.email import email_change_cancel
from accounts.flows.sessions import sessions_end, sessions_end_others, sessions_keep_others
from accounts.models import AuditEvent
from accounts.monitoring import audit
from accounts.monitoring.security import notify_user
from accounts.sessions.policy import duration_text
from shopdemo.links import site_url
from shopdemo.mail import mail_send, mail_task

REQUESTED = "authn_reset_request"
THROTTLED = "authn_reset_throttled"
RESET = "authn_password_reset"
MAILED, NO_ACCOUNT = "mailed", "no_account"


def _address_digest(email: str) -> str:
    """Name the typed address in the audit trail without storing it (it may be nobody's)."""
    return salted_hmac("accounts.password_reset.address", email.strip().lower()).hexdigest()[:32]


def _throttled(*, request, address: str) -> bool:
    """Whether this hour's requests from the client's network (accounts.throttle), or mails to the address, ran out."""
    if throttle.hit("reset", request=request, window=3600) > settings.PASSWORD_RESET_PER_IP_PER_HOUR:
        return True
    recent = AuditEvent.objects.filter(event=REQUESTED, created_at__gte=timezone.now() - timedelta(hours=1))
    mailed = recent.filter(details__address=address, details__outcome=MAILED).count()
    return mailed >= settings.PASSWORD_RESET_PER_HOUR


def reset_users(email: str) -> list:
    """Who may reset with `email`: Django's rule (active, the same address, a usable password), and more.

    An account whose first factor is a passkey has no password yet (Django's
    rule leaves such accounts out, as they may sign in elsewhere): here the link
    is how it gets one, the way back in when the passkey is lost.
    """
    users = list(PasswordResetForm().get_users(email))
    passkey_first = get_user_model()._default_manager.filter(
        email__iexact=email, is_active=True, pk__in=WebAuthnCredential.objects.values("user")
    )
    # Compared as Django does (NFKC, casefold): an address that only looks alike in iexact gets no link.
    folded = unicodedata.normalize("NFKC", email).casefold()
    return users + [
        user
        for user in passkey_first
        if not user.has_usable_password() and unicodedata.normalize("NFKC", user.email).casefold() == folded
    ]


def password_reset_request(*, request, email: str) -> None:
    """Mail a reset link to each active account with `email`, unless throttled; record the request."""
    users = reset_users(email)
    address = _address_digest(email)
    if _throttled(request=request, address=address):
        audit.record(THROTTLED, request=request, user=users[0] if users else None, address=address)
        return
    audit.record(
        REQUESTED,
        request=request,
        user=users[0] if users else None,
        address=address,
        outcome=MAILED if users else NO_ACCOUNT,
    )
    mail_reset_link.enqueue(email=email, origin=site_url(request))


@mail_task
def mail_reset_link(*, email: str, origin: str) -> None:
    """Mail each account that may reset with `email` (reset_users) a link under `origin`."""
    for user in reset_users(email):
        path = reverse(
            "accounts:password_reset_confirm",
            kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": default_token_generator.make_token(user),
            },
        )
        mail_send(
            to=[user.email],
            subject="Reset your password",
            template="password_reset",
            context={
                "user": user,
                "reset_url": origin + path,
                "valid_for": duration_text(settings.PASSWORD_RESET_TIMEOUT),
            },
        )


def password_reset_complete(*, request, form) -> None:
    """Set the new password from the link's form; end every session; lift the lockout; tell the owner.

    Nobody is signed in: the user signs in afresh, so MFA's code step still follows.
    """
    user = form.save()
    sessions_end(user.sessions.all(), reason="password_reset", request=request)
    email_change_cancel(request=request, user=user, reason="password_reset")
    # This browser's session held the token; it goes too, and a new key comes with the next sign-in.
    request.session.flush()
    AxesProxyHandler.reset_attempts(username=user.get_username())
    audit.record(RESET, request=request, user=user)
    mail_reset_done.enqueue(user_id=user.pk, origin=site_url(request))


@mail_task
def mail_reset_done(*, user_id: int, origin: str) -> None:
    """Tell the account's owner that its password was reset."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:  # deleted since: nobody to tell
        return
    mail_send(
        to=[user.email],
        subject="Your password was reset",
        template="password_reset_done",
        context={
            "user": user,
            "login_url": origin + reverse("accounts:login"),
            "reset_url": origin + reverse("accounts:password_reset"),
        },
    )


def password_changed(*, request, keep_other_sessions: bool) -> int:
    """Finish a password change (Django has set it and given this session a new key); return sessions ended."""
    user = request.user
    audit.record("authn_password_change", request=request)
    ended = 0
    if keep_other_sessions:
        sessions_keep_others(user=user, request=request)
    else:
        # ASVS V7.4.3, on by default: the others, possibly an attacker's, end now.
        ended = sessions_end_others(user=user, reason="password_change", request=request)
    notify_user(
        user=user,
        subject="Your password was changed",
        body="The password of your shopdemo account was just changed.",
    )
    return ended
