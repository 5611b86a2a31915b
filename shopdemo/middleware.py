"""What every request and response passes through, whatever app answers it: security headers, NUL refusal."""

from urllib.parse import unquote

from django.http import HttpResponseBadRequest

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)


class SecurityHeadersMiddleware:
    """Add the Content-Security-Policy: scripts and styles only from this site, no framing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
MSG_NUL = "This request holds a NUL character, which no address, form or parameter here accepts."


class RefuseNulBytesMiddleware:
    """Answer 400 to a NUL character in the path, the query or a form field.

    PostgreSQL refuses NUL in text, so one reaching a query would be a 500; no page,
    form or parameter of this site has a use for it, so it is refused here, in one place,
    before any view (or the admin) looks at the request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._holds_nul(request):
            return HttpResponseBadRequest(MSG_NUL, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    @staticmethod
    def _holds_nul(request) -> bool:
        if "\x00" in request.path_info or "\x00" in unquote(request.META.get("QUERY_STRING", "")):
            return True
        if request.method == "POST" and request.content_type in FORM_TYPES:
            return any("\x00" in key or "\x00" in value for key, values in request.POST.lists() for value in values)
        return False
