"""The account's email address: confirming it, and changing it only through the new address's link.

Links are signed with django.core.signing (no table of tokens) and name the
address by a keyed digest, never in clear. A link is single-use because it
only applies to a state it changes: confirming an address that is not yet
confirmed, or a change that is still pending. EMAIL_VERIFY_TIMEOUT ends it.

Confirming an address is also what gives the account the guest orders
placed with it (cart.services.order_claim_for_address), never before.

No page ever says whether an address is in use: what differs is only the
mail the address's owner receives, which the worker builds and sends. An
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
from shopdemo.links import site_url
from shopdemo.mail import mail_send, mail_task

SALT = "accounts.email.link"
LINKS_PER_HOUR = 3  # per account, and per address mailed: the mailbox is not for flooding
LINK_SENT = "authn_email_link_sent"
CONFIRMED = "authn_email_confirmed"
CHANGED = "authn_email_change"
CANCELLED = "authn_email_cancelled"
UNDONE = "authn_email_change_undone"
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
    """Record the link, then queue its mail to `address` (or a notice, if another account holds it)."""
    audit.record(LINK_SENT, request=request, user=user, purpose=purpose, address=_digest(address))
    mail_email_link.enqueue(user_id=user.pk, address=address, purpose=purpose, stamp=stamp, origin=site_url(request))


@mail_task
def mail_email_link(*, user_id: int, address: str, purpose: str, stamp: str, origin: str) -> None:
    """Mail `address` the link that confirms it for the user (signed here: no token rests in the queue)."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    context = {"user": user, "address": address, "purpose": purpose}
    if EmailState.objects.filter(confirmed__iexact=address).exclude(user=user).exists():
        context["reset_url"] = origin + reverse("accounts:password_reset")
        mail_send(to=[address], subject="This address already has an account", template="email_in_use", context=context)
        return
    payload = {"u": user.pk, "a": _digest(address), "p": purpose, "t": stamp}
    token = signing.dumps(payload, salt=SALT, compress=True)
    context.update(
        confirm_url=origin + reverse("accounts:email_verify", kwargs={"token": token}),
        valid_for=duration_text(settings.EMAIL_VERIFY_TIMEOUT),
    )
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
    if _links_in_the_last_hour(user=user) >= LINKS_PER_HOUR:
        return False
    state = email_state(user)
    if state.pending:
        _send_link(request=request, user=user, address=state.pending, purpose="change", stamp=_change_stamp(state))
    elif not email_confirmed(user):
        email_verification_start(request=request, user=user)
    return True


def _links_in_the_last_hour(**match) -> int:
    since = timezone.now() - timedelta(hours=1)
    return AuditEvent.objects.filter(event=LINK_SENT, created_at__gte=since, **match).count()


def email_change_request(*, request, email: str) -> bool:
    """Hold `email` as pending and mail it its link; tell the current address at once.

    Returns False, changing and sending nothing, when LINKS_PER_HOUR links went
    out in the last hour for this account or to this address (whoever asked).
    """
    user = request.user
    if (
        max(_links_in_the_last_hour(user=user), _links_in_the_last_hour(details__address=_digest(email)))
        >= LINKS_PER_HOUR
    ):
        return False
    state = email_state(user)
    state.pending, state.pending_since = email, timezone.now()
    state.save(update_fields=["pending", "pending_since"])
    _send_link(request=request, user=user, address=email, purpose="change", stamp=_change_stamp(state))
    # The current address is where the owner reads mail today: if this was not them, they act from there.
    mail_email_change_notice.enqueue(user_id=user.pk, to=user.email, address=email, origin=site_url(request))
    return True


@mail_task
def mail_email_change_notice(*, user_id: int, to: str, address: str, origin: str) -> None:
    """Tell the address `to` that a change to `address` was asked for, and what to do if it was not the owner."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        return
    context = {
        "user": user,
        "address": address,
        "reset_url": origin + reverse("accounts:password_reset"),
        "devices_url": origin + reverse("accounts:sessions"),
    }
    mail_send(to=[to], subject="A change of your email address was requested", template="email_change", context=context)


def email_change_cancel(*, request, user=None, reason: str = "cancelled") -> None:
    """Drop the pending address of `user` (the signed-in user by default); its link stops working.

    A password reset and "sign out all other devices" call it too: a change a
    thief asked for must not outlive the owner taking the account back.
    """
    user = user or request.user
    state = email_state(user)
    if state.pending:
        state.pending, state.pending_since = "", None
        state.save(update_fields=["pending", "pending_since"])
        audit.record(CANCELLED, request=request, user=user, reason=reason)


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
        previous = user.email
        if outcome == CHANGED:
            user.email = address
            user.save(update_fields=["email"])  # Django's reset links for the old address die with it
            state.previous = previous
        state.confirmed, state.pending, state.pending_since = address, "", None
        state.save(update_fields=["confirmed", "pending", "pending_since", "previous"])
        audit.record(outcome, request=request, user=user)
        claimed = order_claim_for_address(user=user, address=address)
        if claimed:
            audit.record(ORDERS_CLAIMED, request=request, user=user, count=claimed, reason="address_confirmed")
        if outcome == CHANGED and previous:  # queued with the change: no change goes untold
            _mail_undo(request=request, user=user, previous=previous)
    return outcome, user, claimed


def _mail_undo(*, request, user, previous: str) -> None:
    """Tell the old address that the change is done, with a link that undoes it (as long as a reset link works)."""
    mail_email_changed.enqueue(user_id=user.pk, previous=previous, origin=site_url(request))


@mail_task
def mail_email_changed(*, user_id: int, previous: str, origin: str) -> None:
    """Mail `previous` the undo link of the change that replaced it; the worker signs the link (none in the queue)."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        return
    payload = {"u": user.pk, "p": "undo", "a": _digest(user.email), "o": _digest(previous)}
    token = signing.dumps(payload, salt=SALT, compress=True)
    context = {
        "user": user,
        "address": user.email,
        "undo_url": origin + reverse("accounts:email_undo", kwargs={"token": token}),
        "valid_for": duration_text(settings.PASSWORD_RESET_TIMEOUT),
    }
    subject = "Your account's email address was changed"
    mail_send(to=[previous], subject=subject, template="email_changed", context=context)


def email_change_undo(*, request, token: str):
    """Put back the address a completed change replaced; return the user. Raises EmailLinkInvalid.

    The link works once (only while the change it names is the account's
    latest) and for PASSWORD_RESET_TIMEOUT: the old address's owner takes the
    account back with a password reset mailed there.
    """
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.PASSWORD_RESET_TIMEOUT)
    except signing.BadSignature:
        raise EmailLinkInvalid from None
    user = get_user_model().objects.filter(pk=data["u"], is_active=True).first()
    if user is None or data["p"] != "undo":
        raise EmailLinkInvalid
    with transaction.atomic():
        state = EmailState.objects.select_for_update().filter(user=user).first()
        if (
            state is None
            or not state.previous
            or _digest(state.previous) != data["o"]
            or _digest(user.email) != data["a"]
        ):
            raise EmailLinkInvalid
        user.email = state.previous
        user.save(update_fields=["email"])  # reset links for the replacing address die
        state.confirmed, state.previous, state.pending, state.pending_since = user.email, "", "", None
        state.save(update_fields=["confirmed", "previous", "pending", "pending_since"])
        audit.record(UNDONE, request=request, user=user)
    return user
