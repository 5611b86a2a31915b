"""System checks: settings that would otherwise fail quietly, found when the process starts."""

from django.conf import settings
from django.core.checks import Error, register

E_SESSION_CACHE_ALIAS = "accounts.E001"


@register()
def session_cache_alias(app_configs, **kwargs):
    """SESSION_CACHE_ALIAS must name a configured cache (Django's engines fail on it only at the first request)."""
    if settings.SESSION_CACHE_ALIAS in settings.CACHES:
        return []
    return [
        Error(
            f"SESSION_CACHE_ALIAS {settings.SESSION_CACHE_ALIAS!r} names no cache in CACHES.",
            hint=f"Use one of: {', '.join(settings.CACHES)}.",
            id=E_SESSION_CACHE_ALIAS,
        )
    ]
