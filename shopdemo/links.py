"""Absolute links for mail: under SITE_URL when it is set, else the request's (ALLOWED_HOSTS-checked) host."""

from django.conf import settings


def site_url(request) -> str:
    """The shop's origin as mail should name it, without a trailing slash."""
    return settings.SITE_URL or request.build_absolute_uri("/").rstrip("/")


def absolute_url(request, path: str) -> str:
    """The link to `path` (from reverse()) for a mail."""
    return site_url(request) + path
