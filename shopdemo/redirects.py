"""Where a form may send the visitor next."""

from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request, default: str = "") -> str:
    """Return the request's `next` (posted, else in the query) if it stays on this site, else `default`.

    Django's own open-redirect check, as its LoginView applies it.
    """
    target = request.POST.get("next", request.GET.get("next", ""))
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default
