from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views
from accounts.sessions import views as session_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("healthz", account_views.healthz, name="healthz"),
    path("session/", session_views.session_inspector, name="session_inspector"),
    path("", include("cart.urls")),
]

handler500 = "shopdemo.views.server_error"
