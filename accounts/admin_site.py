"""The admin site as the operators' console: denied visits are recorded, the dashboard is linked."""

from django.contrib import admin
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.views import redirect_to_login
from django.urls import path, reverse

from accounts.decorators import not_activity
from accounts.monitoring import audit

DASHBOARD_PERMISSION = "accounts.view_auditevent"


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

        # The dashboard reloads itself every minute: that is not the staff member's activity.
        # It shows audit rows (usernames, addresses): only for who may read the trail.
        view = self.admin_view(permission_required(DASHBOARD_PERMISSION, raise_exception=True)(not_activity(dashboard)))
        return [path("dashboard/", view, name="dashboard"), *super().get_urls()]

    def login(self, request, extra_context=None):
        # One sign-in for the whole site, with its MFA step and lockout: the
        # admin's own password-only form would skip them (4:V3.7.1).
        return redirect_to_login(request.GET.get("next", reverse("admin:index")))
