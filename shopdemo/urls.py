from django.contrib import admin
from django.urls import include, path

from accounts.monitoring import metrics
from accounts.views import session
from shopdemo import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("session/", session.session_inspector, name="session_inspector"),
    path("", include("cart.urls")),
]

handler500 = "shopdemo.views.server_error"
