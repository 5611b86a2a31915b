from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ShopAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the operators' console site (accounts.admin_site)."""

    default = False  # accounts' own config below stays the app's default
    default_site = "accounts.admin_site.ShopAdminSite"


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and sessions"

    def ready(self):
        from accounts import checks, signals  # noqa: F401  (registers the checks, connects the receivers)
