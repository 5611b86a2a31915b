"""The account's email address: confirming it, and changing it only through the new address's link.

Links are signed with django.core.signing (no table of tokens) and name the
address by a keyed digest, never in clear. A link is single-use because it
only applies to a state it changes: confirming an address that is not yet
confirmed, or a change that is still pending. EMAIL_VERIFY_TIMEOUT ends it.

Confirming an address is also what gives the account the guest orders
placed with it (cart.services.order_claim_for_address), never before.

No page ever says whether an address is in use: what differs is only the
mail the address's owner receives, built and sent after the response. An
address already confirmed by another account gets a notice instead of a
link, so two accounts never confirm the same address.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts.models import AuditEvent, EmailState
from accounts.monitoring import audit
from accounts.sessions.policy import duration_text
from cart.services import order_claim_for_address
from shopdemo.mail import after_response, mail_send

SALT = "accounts.email.link"
LINKS_PER_HOUR = 3  # "send the link again", per account: the mailbox is not for flooding
LINK_SENT = "authn_email_link_sent"
CONFIRMED = "authn_email_confirmed"
CHANGED = "authn_email_change"
CANCELLED = "authn_email_cancelled"
ORDERS_CLAIMED = "orders_claimed"
MSG_BAD_LINK = (
    "This confirmation link does not work: it has expired, has been used already, was replaced by a newer "
    "one, or was not copied whole. Nothing was changed."
)


class EmailLinkInvalid(Exception):
    """The link is expired, used, superseded, forged or mangled."""


def _digest(address: str) -> str:
    return salted_hmac(SALT, address.strip().lower()).hexdigest()[:24]


def email_state(user) -> EmailState:
    """The user's email state (a row is made the first time it is needed)."""
    return EmailState.objects.get_or_create(user=user)[0]


def email_confirmed(user) -> bool:
    return bool(user.email) and email_state(user).confirmed.lower() == user.email.lower()


def _change_stamp(state: EmailState) -> str:
    """Names one change request: a newer request, or a cancelled one, voids the links of the others."""
    return state.pending_since.isoformat() if state.pending_since else ""


def _send_link(*, request, user, address: str, purpose: str, stamp: str = "") -> None:
    """Record the link, then mail it to `address` after the response (or a notice, if another account holds it)."""
    audit.record(LINK_SENT, request=request, user=user, purpose=purpose)
    payload = {"u": user.pk, "a": _digest(address), "p": purpose, "t": stamp}
    token = signing.dumps(payload, salt=SALT, compress=True)
    url = request.build_absolute_uri(reverse("accounts:email_verify", kwargs={"token": token}))
    after_response(lambda: _mail_link(request=request, user=user, address=address, url=url, purpose=purpose))


def _mail_link(*, request, user, address: str, url: str, purpose: str) -> None:
    context = {"user": user, "address": address, "purpose": purpose}
    if EmailState.objects.filter(confirmed__iexact=address).exclude(user=user).exists():
        context["reset_url"] = request.build_absolute_uri(reverse("accounts:password_reset"))
        mail_send(to=[address], subject="This address already has an account", template="email_in_use", context=context)
        return
    context.update(confirm_url=url, valid_for=duration_text(settings.EMAIL_VERIFY_TIMEOUT))
    mail_send(to=[address], subject="Confirm your email address", template="email_confirm", context=context)


def email_verification_start(*, request, user) -> None:
    """Mail a new account's address its confirmation link (registration)."""
    if user.email:
        _send_link(request=request, user=user, address=user.email, purpose="verify")


def email_link_resend(*, request) -> bool:
    """Send the link again: to the pending address if a change waits, else to the unconfirmed address.

    Returns False, sending nothing, when LINKS_PER_HOUR links went out in the last hour.
    """
    user = request.user
    since = timezone.now() - timedelta(hours=1)
    if AuditEvent.objects.filter(event=LINK_SENT, user=user, created_at__gte=since).count() >= LINKS_PER_HOUR:
        return False
    state = email_state(user)
    if state.pending:
        _send_link(request=request, user=user, address=state.pending, purpose="change", stamp=_change_stamp(state))
    elif not email_confirmed(user):
        email_verification_start(request=request, user=user)
    return True


def email_change_request(*, request, email: str) -> None:
    """Hold `email` as pending and mail it its link; tell the current address at once."""
    user = request.user
    state = email_state(user)
    state.pending, state.pending_since = email, timezone.now()
    state.save(update_fields=["pending", "pending_since"])
    _send_link(request=request, user=user, address=email, purpose="change", stamp=_change_stamp(state))
    context = {
        "user": user,
        "address": email,
        "reset_url": request.build_absolute_uri(reverse("accounts:password_reset")),
        "devices_url": request.build_absolute_uri(reverse("accounts:sessions")),
    }
    # The current address is where the owner reads mail today: if this was not them, they act from there.
    mail_send(
        to=[user.email],
        subject="A change of your email address was requested",
        template="email_change",
        context=context,
    )


def email_change_cancel(*, request) -> None:
    """Drop the pending address; its link stops working."""
    state = email_state(request.user)
    if state.pending:
        state.pending, state.pending_since = "", None
        state.save(update_fields=["pending", "pending_since"])
        audit.record(CANCELLED, request=request)


def email_confirm(*, request, token: str) -> tuple[str, object, int]:
    """Apply the link: confirm the address, or make the pending address the account's.

    Returns which it was, whose account, and how many earlier guest orders with the
    address it gained.

    Raises EmailLinkInvalid, changing nothing, for an expired, used, superseded or forged link.
    """
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.EMAIL_VERIFY_TIMEOUT)
    except signing.BadSignature:  # SignatureExpired included
        raise EmailLinkInvalid from None
    user = get_user_model().objects.filter(pk=data["u"], is_active=True).first()
    if user is None:
        raise EmailLinkInvalid
    with transaction.atomic():
        email_state(user)  # the row exists before it is locked
        state = EmailState.objects.select_for_update().get(user=user)
        change = data["p"] == "change" and data["t"] == _change_stamp(state)
        if change and state.pending and _digest(state.pending) == data["a"]:
            address, outcome = state.pending, CHANGED
        elif data["p"] == "verify" and user.email and _digest(user.email) == data["a"] and not email_confirmed(user):
            address, outcome = user.email, CONFIRMED
        else:
            raise EmailLinkInvalid
        if EmailState.objects.filter(confirmed__iexact=address).exclude(user=user).exists():
            raise EmailLinkInvalid  # another account confirmed it since the link was sent
        if outcome == CHANGED:
            user.email = address
            user.save(update_fields=["email"])  # Django's reset links for the old address die with it
        state.confirmed, state.pending, state.pending_since = address, "", None
        state.save(update_fields=["confirmed", "pending", "pending_since"])
        audit.record(outcome, request=request, user=user)
        claimed = order_claim_for_address(user=user, address=address)
        if claimed:
            audit.record(ORDERS_CLAIMED, request=request, user=user, count=claimed, reason="address_confirmed")
    return outcome, user, claimed
