"""What the server holds about the current session, as the status API, the idle warning and the inspector show it."""

from django.conf import settings
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from accounts.sessions import policy as session_policy


def session_state(request) -> dict:
    """Return the contract's status payload for the request's session."""
    session = request.session
    authenticated = request.user.is_authenticated and session.row is not None
    state = {
        "authenticated": authenticated,
        "persistent": bool(authenticated and session.get(session_policy.REMEMBER)),
        "idle_expires_in": None,
        "absolute_expires_in": None,
        "warn_before": settings.SESSION_WARNING_BEFORE,
    }
    if getattr(request, "session_ended", None):
        # Beyond the contract: lets the page say why it is leaving (idle, absolute, hijack).
        state["ended"] = request.session_ended
    if authenticated:
        now = timezone.now()
        data = dict(session.items())
        state["idle_expires_in"] = max(
            0, int((session_policy.idle_deadline(data, session.row.last_activity) - now).total_seconds())
        )
        absolute = session_policy.absolute_deadline(data)
        if absolute:
            state["absolute_expires_in"] = max(0, int((absolute - now).total_seconds()))
            # The idle timer never reaches past the absolute limit.
            state["idle_expires_in"] = min(state["idle_expires_in"], state["absolute_expires_in"])
    return state


def session_timeout(request):
    """Template context: the session's status, computed only when a signed-in page shows the warning."""
    return {"session_state": SimpleLazyObject(lambda: session_state(request))}
