from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("register/", views.RegisterView.as_view(), name="register"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("sessions/", views.session_list, name="sessions"),
    path("sessions/revoke-others/", views.session_revoke_others, name="session_revoke_others"),
    path("sessions/<str:public_id>/revoke/", views.session_revoke, name="session_revoke"),
    path("session/status/", views.session_status, name="session_status"),
    path("session/extend/", views.session_extend, name="session_extend"),
]
