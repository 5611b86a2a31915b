"""The password: its change, and the reset of a forgotten one.

Reset: a single-use, time-limited link by mail, then a new password (ASVS V6.4).

The request answers the same, in the same time, whether or not an account
has the address: the lookups and the audit row are the same for both, and
the mail is built and sent only after the response has gone out. Django's
token generator makes the link single-use: it hashes the password and the
last sign-in, so a reset (or a sign-in) voids it, and PASSWORD_RESET_TIMEOUT
ends it.
"""

from datetime import timedelta

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.flows.email import email_change_cancel
from accounts.flows.sessions import sessions_end, sessions_end_others, sessions_keep_others
from accounts.ip import client_ip
from accounts.models import AuditEvent
from accounts.monitoring import audit
from accounts.monitoring.security import notify_user
from accounts.sessions.policy import duration_text
from shopdemo.mail import after_response, mail_send

REQUESTED = "authn_reset_request"
THROTTLED = "authn_reset_throttled"
RESET = "authn_password_reset"
MAILED, NO_ACCOUNT = "mailed", "no_account"


def _address_digest(email: str) -> str:
    """Name the typed address in the audit trail without storing it (it may be nobody's)."""
    return salted_hmac("accounts.password_reset.address", email.strip().lower()).hexdigest()[:32]


def _throttled(*, request, address: str) -> bool:
    """Whether this hour's requests from the IP, or mails to the address, are used up."""
    recent = AuditEvent.objects.filter(
        event__in=[REQUESTED, THROTTLED], created_at__gte=timezone.now() - timedelta(hours=1)
    )
    by_ip = recent.filter(ip=client_ip(request)).count()
    mailed = recent.filter(event=REQUESTED, details__address=address, details__outcome=MAILED).count()
    return by_ip >= settings.PASSWORD_RESET_PER_IP_PER_HOUR or mailed >= settings.PASSWORD_RESET_PER_HOUR


def password_reset_request(*, request, email: str) -> None:
    """Mail a reset link to each active account with `email`, unless throttled; record the request."""
    # Django's own rule for who may reset: active, a usable password, the same address.
    users = list(PasswordResetForm().get_users(email))
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
    for user in users:
        after_response(lambda user=user: _mail_link(request=request, user=user))


def _mail_link(*, request, user) -> None:
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
            "reset_url": request.build_absolute_uri(path),
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
    mail_send(
        to=[user.email],
        subject="Your password was reset",
        template="password_reset_done",
        context={
            "user": user,
            "login_url": request.build_absolute_uri(reverse("accounts:login")),
            "reset_url": request.build_absolute_uri(reverse("accounts:password_reset")),
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
