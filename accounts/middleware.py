"""Session middleware that tells the session store where the request comes from."""
from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware

from accounts.ip import client_ip


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's session middleware, with the client's IP and user agent on the store."""

    def process_request(self, request):
        # Only the cookie is read: a `sessionid` query parameter is never a
        # session key (ASVS V14.2.1).
        request.session = self.SessionStore(
            request.COOKIES.get(settings.SESSION_COOKIE_NAME),
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
