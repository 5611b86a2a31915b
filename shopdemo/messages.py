"""Django's cookie message storage under the cookie naming rule of every other cookie here."""

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage


class HostCookieStorage(CookieStorage):
    """Messages in a signed cookie named `__Host-messages` under HTTPS (Secure, Path=/, no Domain)."""

    cookie_name = "__Host-messages" if settings.HTTPS else "messages"
