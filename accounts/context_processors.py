"""Template context for the idle-timeout warning on signed-in pages."""
from django.utils.functional import SimpleLazyObject

from accounts.session_state import session_state


def session_timeout(request):
    """Expose the session's status, computed only when a signed-in page shows the warning."""
    return {"session_state": SimpleLazyObject(lambda: session_state(request))}
