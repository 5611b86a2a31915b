"""The admin site as the operators' console: denied visits are recorded, the dashboard is linked."""
from django.contrib import admin
from django.urls import path

from accounts.monitoring import audit


class ShopAdminSite(admin.AdminSite):
    site_header = "shopdemo operations"
    site_title = "shopdemo admin"
    index_title = "Sessions, shop and security"

    def has_permission(self, request):
        allowed = super().has_permission(request)
        if not allowed and request.user.is_authenticated:
            # A signed-in shopper probing the console (ASVS V16.3.1: authz_fail).
            audit.record("authz_fail", request=request, area="admin")
        return allowed

    def get_urls(self):
        from accounts.monitoring.dashboard import dashboard

        return [path("dashboard/", self.admin_view(dashboard), name="dashboard"), *super().get_urls()]
