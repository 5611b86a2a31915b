from django.urls import path

from accounts import account_views, recovery_views, views
from accounts.sessions import dbsc_views
from accounts.sessions import views as session_views

app_name = "accounts"

urlpatterns = [
    path("", account_views.account, name="account"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/otp/", views.LoginOTPView.as_view(), name="login_otp"),
    path("reauth/", views.ReauthView.as_view(), name="reauth"),
    path("email/", account_views.email_change, name="email_change"),
    path("delete/", account_views.account_delete_view, name="delete"),
    path("mfa/", account_views.mfa_settings, name="mfa"),
    path("mfa/disable/", account_views.mfa_disable, name="mfa_disable"),
    path("mfa/recovery-codes/", account_views.mfa_recovery_codes, name="mfa_recovery_codes"),
    path("mfa/recovery-codes.txt", account_views.mfa_recovery_codes_download, name="mfa_recovery_codes_download"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("register/", views.RegisterView.as_view(), name="register"),
    path("password/", account_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/reset/", recovery_views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/done/", recovery_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    # Token routes: accounts.monitoring.redact keeps their tokens out of logs.
    path(
        "password/reset/<uidb64>/<token>/",
        recovery_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("sessions/", session_views.session_list, name="sessions"),
    path("sessions/revoke-others/", session_views.session_revoke_others, name="session_revoke_others"),
    path("sessions/<str:public_id>/revoke/", session_views.session_revoke, name="session_revoke"),
    path("session/status/", session_views.session_status, name="session_status"),
    path("session/extend/", session_views.session_extend, name="session_extend"),
    path("session/dbsc/register/", dbsc_views.dbsc_register, name="dbsc_register"),
    path("session/dbsc/refresh/", dbsc_views.dbsc_refresh, name="dbsc_refresh"),
]
