"""Ending sessions: the one place that does it, and records why."""

from django.contrib.auth import HASH_SESSION_KEY

from accounts.flows.email import email_change_cancel
from accounts.monitoring import audit
from accounts.sessions import elsewhere
from accounts.sessions.store import engine_store


def sessions_end(queryset, *, reason: str, request=None) -> int:
    """End the sessions of `queryset`, record `session_expired` with `reason` for each; return how many.

    The devices page, the admin, password and MFA changes, password reset,
    deactivation and deletion all end sessions here, so each is recorded the
    same way and a cached engine forgets them too. (A session refused on the
    request that presents it, e.g. a suspected hijack, is flushed by the
    session middleware instead.)
    """
    rows = list(queryset.select_related("user"))
    owners = {row.public_id: row.user for row in rows}
    ended = engine_store().end(queryset)
    # The devices still holding these keys are told why on their next page.
    elsewhere.remember([row.session_key for row in rows if row.public_id in ended], reason=reason)
    for public_id in ended:
        audit.record("session_expired", request=request, user=owners.get(public_id), public_id=public_id, reason=reason)
    return len(ended)


def sessions_end_others(*, user, reason: str, request) -> int:
    """End every session of `user` but the request's own; return how many."""
    return sessions_end(user.sessions.exclude(public_id=request.session.public_id), reason=reason, request=request)


def sessions_sign_out_others(*, request) -> int:
    """ "Sign out all other devices": end them, and cancel a pending email change a thief may have asked for."""
    ended = sessions_end_others(user=request.user, reason="revoked", request=request)
    email_change_cancel(request=request, reason="signed_out_everywhere")
    return ended


def sessions_keep_others(*, user, request) -> None:
    """Let the user's other sessions survive a password change they chose not to end them on.

    Django ties each session to a hash of the password; give them the new one.
    """
    # The table knows each session only by its key's hash: rewrite the rows
    # (live ones; a rotated key's grace row holds no data of its own).
    for row in user.sessions.live().exclude(public_id=request.session.public_id):
        engine_store().rewrite(row, **{HASH_SESSION_KEY: user.get_session_auth_hash()})


def sessions_extend(*, request) -> None:
    """The user asked to stay signed in: restart the idle timer now (never past the absolute limit)."""
    request.session.record_activity()  # policy.expiry() still caps it at the absolute deadline
    request.session.save()


def sessions_revoke(*, request, public_id: str) -> bool:
    """End one of the signed-in user's sessions (a device); False, recorded, if it is not theirs."""
    # Ownership in the queryset: another user's public id is simply not found.
    if not sessions_end(request.user.sessions.filter(public_id=public_id), reason="revoked", request=request):
        audit.record("authz_fail", request=request, target_session=public_id)
        return False
    if public_id == request.session.public_id:
        request.session.flush()
    return True
