"""The account's own lifecycle: registration, email change, password change follow-up, deletion."""

from accounts.flows.sessions import sessions_end, sessions_end_others, sessions_keep_others
from accounts.flows.sign_in import sign_in
from accounts.monitoring import audit
from accounts.monitoring.security import notify_user
from cart.services import MergeReport


def account_register(*, request, form) -> MergeReport:
    """Create the account from a valid registration form and sign it in, carrying the guest cart."""
    user = form.save()
    return sign_in(request=request, user=user, remember=False)


def account_change_email(*, request, email: str) -> None:
    """Change the signed-in user's address; both addresses hear of it."""
    user = request.user
    old = user.email
    user.email = email
    user.save(update_fields=["email"])
    audit.record("authn_email_change", request=request)
    # The old address is where the owner still reads mail.
    notify_user(
        user=user,
        subject="Your email address was changed",
        body=f"The email address of your account is now {user.email}.",
        extra_to=[old],
    )


def account_password_changed(*, request, keep_other_sessions: bool) -> int:
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


def account_delete(*, request) -> None:
    """Delete the signed-in user's account: every session ends, orders stay without a name."""
    user = request.user
    sessions_end(user.sessions.all(), reason="account_deleted", request=request)
    audit.record("account_deleted", request=request, user=None, username=user.get_username())
    user.delete()  # carts and devices go with it; orders keep their lines with user set to null
    request.session.flush()
