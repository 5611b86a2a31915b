from django.urls import path
from django.views.generic import TemplateView
from django.views.i18n import JavaScriptCatalog

from accounts import account_views, passkey_views, recovery_views, views
from accounts.sessions import dbsc_views
from accounts.sessions import views as session_views

app_name = "accounts"

urlpatterns = [
    path("", account_views.account, name="account"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/otp/", views.LoginOTPView.as_view(), name="login_otp"),
    path("reauth/", views.ReauthView.as_view(), name="reauth"),
    path("reauth/resume/", views.reauth_resume, name="reauth_resume"),
    path("email/", account_views.email_change, name="email_change"),
    path("email/resend/", recovery_views.email_link_resend, name="email_resend"),
    path("email/cancel/", recovery_views.email_change_cancel, name="email_cancel"),
    # Token route, like the reset link: accounts.monitoring.redact keeps the token out of logs.
    path("email/verify/<str:token>/", recovery_views.email_verify, name="email_verify"),
    path("delete/", account_views.account_delete_view, name="delete"),
    path("mfa/", account_views.mfa_settings, name="mfa"),
    path("mfa/disable/", account_views.mfa_disable, name="mfa_disable"),
    path("mfa/recovery-codes/", account_views.mfa_recovery_codes, name="mfa_recovery_codes"),
    path("mfa/recovery-codes.txt", account_views.mfa_recovery_codes_download, name="mfa_recovery_codes_download"),
    path("mfa/passkeys/<int:pk>/rename/", account_views.passkey_rename, name="passkey_rename"),
    path("mfa/passkeys/<int:pk>/remove/", account_views.passkey_remove, name="passkey_remove"),
    path("passkeys/register/begin/", passkey_views.RegisterBegin.as_view(), name="passkey_register_begin"),
    path("passkeys/register/complete/", passkey_views.RegisterComplete.as_view(), name="passkey_register_complete"),
    path("passkeys/sign-in/begin/", passkey_views.SignInBegin.as_view(), name="passkey_sign_in_begin"),
    path("passkeys/sign-in/complete/", passkey_views.SignInComplete.as_view(), name="passkey_sign_in_complete"),
    path("passkeys/second-step/begin/", passkey_views.SecondStepBegin.as_view(), name="passkey_second_step_begin"),
    path(
        "passkeys/second-step/complete/",
        passkey_views.SecondStepComplete.as_view(),
        name="passkey_second_step_complete",
    ),
    path("passkeys/reauth/begin/", passkey_views.ReauthBegin.as_view(), name="passkey_reauth_begin"),
    path("passkeys/reauth/complete/", passkey_views.ReauthComplete.as_view(), name="passkey_reauth_complete"),
    # The translations django-otp-webauthn's script asks for (its global gettext).
    path("passkeys/jsi18n/", JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]), name="passkey_jsi18n"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    # Where sign-out lands: its own page says so (Clear-Site-Data would wipe a message cookie).
    path("signed-out/", TemplateView.as_view(template_name="accounts/signed_out.html"), name="signed_out"),
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
