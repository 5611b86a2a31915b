from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("healthz", account_views.healthz, name="healthz"),
    path("session/", account_views.session_inspector, name="session_inspector"),
    path("", include("cart.urls")),
]
