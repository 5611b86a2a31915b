"""The account's own lifecycle: registration and deletion (email: flows.email, password: flows.password)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django_otp import login as otp_login
from django_otp_webauthn.models import WebAuthnUserHandle

from accounts import backend_paths, throttle
from accounts.flows import passkeys
from accounts.flows.email import ORDERS_CLAIMED, email_verification_start
from accounts.flows.sessions import sessions_end
from accounts.flows.sign_in import sign_in, started_in_this_browser
from accounts.forms import PasskeyRegisterForm
from accounts.monitoring import audit
from accounts.sessions import policy as session_policy
from accounts.sessions.policy import GUEST_ORDERS_SESSION_KEY
from cart.services import MergeReport, order_claim_placed

REGISTER_THROTTLED = "authn_register_throttled"
REGISTER_WINDOW = 3600
REGISTER_FAILED = "authn_register_fail"
# The registration waiting for its passkey: username, address, the user handle drawn for it and, once the
# ceremony has begun, its challenge. Sealed in the session (accounts.sessions.store.SEALED_KEYS).
PENDING = session_policy.PASSKEY_SIGN_UP


def account_register_allowed(*, request) -> bool:
    """Count a registration attempt from the request's network; False once this hour's are used up.

    Usernames are public handles, so the form may say one is taken; this
    bounds how fast anyone can ask (V6.3.8), each network on its own count
    (accounts.throttle): nobody can use up the others'. The first refused
    attempt of an hour records the burst.
    """
    attempts = throttle.hit("register", request=request, window=REGISTER_WINDOW)
    limit = settings.REGISTRATION_PER_IP_PER_HOUR
    if attempts == limit + 1:
        audit.record(REGISTER_THROTTLED, request=request, attempts=attempts, window_seconds=REGISTER_WINDOW)
    return attempts <= limit


def account_register(*, request, form) -> MergeReport:
    """Create the account from a valid form (a password), then as every registration: see _registered."""
    return _registered(request=request, user=form.save(), method=session_policy.PASSWORD)


def _registered(*, request, user, method: str) -> MergeReport:
    """Sign the new account in (with the guest cart and orders), mail the confirmation link.

    The guest orders this browser placed become the account's at once, under the
    rule that carries the cart: a session planted from another browser brings none.
    Orders placed elsewhere with the address wait for its confirmation (flows.email).
    """
    session = request.session
    placed = session.pop(GUEST_ORDERS_SESSION_KEY, [])
    if not started_in_this_browser(session):
        placed = []
    report = sign_in(request=request, user=user, remember=False, method=method)
    if claimed := order_claim_placed(user=user, numbers=placed):
        audit.record(ORDERS_CLAIMED, request=request, user=user, count=claimed, reason="placed_in_this_browser")
    email_verification_start(request=request, user=user)
    return report


def account_register_hold(*, request, form) -> None:
    """Keep a valid passwordless registration until its passkey is made: the account does not exist before."""
    data = form.cleaned_data
    handle = WebAuthnUserHandle.generate_handle().hex()
    request.session[PENDING] = {"username": data["username"], "email": data["email"], "handle": handle}


def account_register_pending(*, request) -> dict | None:
    """The registration waiting for its passkey (username and email), if this session holds one."""
    return request.session.get(PENDING)


def _ceremony(request, pending: dict) -> tuple[passkeys.SignUpHelper, object]:
    """The helper for the pending registration's ceremony, and the account-to-be (unsaved) it is for."""
    user = get_user_model()(username=pending["username"], email=pending["email"])
    return passkeys.SignUpHelper(request, bytes.fromhex(pending["handle"])), user


def account_register_passkey_begin(*, request) -> dict:
    """Start the ceremony that makes the pending registration's passkey: the options for the browser."""
    pending = account_register_pending(request=request)
    if pending is None:
        raise passkeys.Refused("expired")
    helper, user = _ceremony(request, pending)
    options, state = helper.register_begin(user=user)
    request.session[PENDING] = {**pending, "state": state}
    return options


def account_register_passkey(*, request, data: dict) -> MergeReport:
    """Create the pending account with the passkey the browser made, then as every registration (_registered).

    The account, its user handle and its passkey are stored in one transaction
    once the answer is verified: a cancelled or refused ceremony leaves no
    account. The challenge is spent before anything is checked, so an answer
    counts once; the username is checked again (it may have been taken since).
    """
    pending = dict(account_register_pending(request=request) or {})
    state = pending.pop("state", None)
    if state is None:
        raise passkeys.Refused("expired")
    request.session[PENDING] = pending  # without its challenge: another try starts a new ceremony
    request.session.save()
    form = PasskeyRegisterForm(data={"username": pending["username"], "email": pending["email"]})
    if not form.is_valid():
        del request.session[PENDING]
        raise passkeys.Refused("username_taken", 409)
    helper, _ = _ceremony(request, pending)
    with transaction.atomic():
        try:
            with transaction.atomic():
                user = form.save()
        except IntegrityError as error:  # taken between the check above and the insert
            del request.session[PENDING]
            raise passkeys.Refused("username_taken", 409) from error
        WebAuthnUserHandle.objects.create(user=user, handle_hex=pending["handle"])
        device = passkeys.passkey_created(helper=helper, user=user, state=state, data=data)
    del request.session[PENDING]
    user.backend = backend_paths.PASSKEY
    report = _registered(request=request, user=user, method=session_policy.PASSKEY)
    # The passkey verified its user (user verification required): the session is verified, as at a passkey sign-in.
    otp_login(request, device)
    return report


def account_register_refused(*, request, error: passkeys.Refused) -> None:
    audit.record(REGISTER_FAILED, request=request, method="passkey", reason=error.code)


def account_delete(*, request) -> None:
    """Delete the signed-in user's account: every session ends, orders stay without a name."""
    user = request.user
    sessions_end(user.sessions.all(), reason="account_deleted", request=request)
    audit.record("account_deleted", request=request, user=None, username=user.get_username())
    user.delete()  # carts and devices go with it; orders keep their lines with user set to null
    request.session.flush()
