from django.urls import path, register_converter
from django.views.generic import TemplateView
from django.views.i18n import JavaScriptCatalog

from accounts.views import account, dbsc, email, mfa, passkeys, password, reauth, session, sessions, sign_in
from shopdemo.converters import PublicIdConverter

register_converter(PublicIdConverter, "public_id")

app_name = "accounts"

urlpatterns = [
    path("", account.account, name="account"),
    path("login/", sign_in.LoginView.as_view(), name="login"),
    path("login/otp/", sign_in.LoginOTPView.as_view(), name="login_otp"),
    path("reauth/", reauth.ReauthView.as_view(), name="reauth"),
    path("reauth/resume/", reauth.reauth_resume, name="reauth_resume"),
    path("email/", email.email_change, name="email_change"),
    path("email/resend/", email.email_link_resend, name="email_resend"),
    path("email/cancel/", email.email_change_cancel, name="email_cancel"),
    # Token route, like the reset link: accounts.monitoring.redact keeps the token out of logs.
    path("email/verify/<str:token>/", email.email_verify, name="email_verify"),
    path("email/undo/<str:token>/", email.email_undo, name="email_undo"),
    path("delete/", account.account_delete_view, name="delete"),
    path("mfa/", mfa.mfa_settings, name="mfa"),
    path("mfa/disable/", mfa.mfa_disable, name="mfa_disable"),
    path("mfa/recovery-codes/", mfa.mfa_recovery_codes, name="mfa_recovery_codes"),
    path("mfa/recovery-codes.txt", mfa.mfa_recovery_codes_download, name="mfa_recovery_codes_download"),
    path("mfa/passkeys/<int:pk>/rename/", mfa.passkey_rename, name="passkey_rename"),
    path("mfa/passkeys/<int:pk>/remove/", mfa.passkey_remove, name="passkey_remove"),
    path("passkeys/register/begin/", passkeys.RegisterBegin.as_view(), name="passkey_register_begin"),
    path("passkeys/register/complete/", passkeys.RegisterComplete.as_view(), name="passkey_register_complete"),
    path("passkeys/sign-up/begin/", passkeys.SignUpBegin.as_view(), name="passkey_sign_up_begin"),
    path("passkeys/sign-up/complete/", passkeys.SignUpComplete.as_view(), name="passkey_sign_up_complete"),
    path("passkeys/sign-in/begin/", passkeys.SignInBegin.as_view(), name="passkey_sign_in_begin"),
    path("passkeys/sign-in/complete/", passkeys.SignInComplete.as_view(), name="passkey_sign_in_complete"),
    path("passkeys/second-step/begin/", passkeys.SecondStepBegin.as_view(), name="passkey_second_step_begin"),
    path(
        "passkeys/second-step/complete/",
        passkeys.SecondStepComplete.as_view(),
        name="passkey_second_step_complete",
    ),
    path("passkeys/reauth/begin/", passkeys.ReauthBegin.as_view(), name="passkey_reauth_begin"),
    path("passkeys/reauth/complete/", passkeys.ReauthComplete.as_view(), name="passkey_reauth_complete"),
    # The translations django-otp-webauthn's script asks for (its global gettext).
    path("passkeys/jsi18n/", JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]), name="passkey_jsi18n"),
    path("logout/", sign_in.LogoutView.as_view(), name="logout"),
    # Where sign-out lands: its own page says so (Clear-Site-Data would wipe a message cookie).
    path("signed-out/", TemplateView.as_view(template_name="accounts/signed_out.html"), name="signed_out"),
    path("register/", account.RegisterView.as_view(), name="register"),
    path("register/passkey/", account.register_passkey, name="register_passkey"),
    path("password/", password.PasswordChangeView.as_view(), name="password_change"),
    path("password/reset/", password.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/done/", password.PasswordResetDoneView.as_view(), name="password_reset_done"),
    # Token routes: accounts.monitoring.redact keeps their tokens out of logs.
    path(
        "password/reset/<uidb64>/<token>/",
        password.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("sessions/", sessions.session_list, name="sessions"),
    path("sessions/revoke-others/", sessions.session_revoke_others, name="session_revoke_others"),
    path("sessions/<public_id:public_id>/revoke/", sessions.session_revoke, name="session_revoke"),
    path("session/status/", session.session_status, name="session_status"),
    path("session/extend/", session.session_extend, name="session_extend"),
    path("session/dbsc/register/", dbsc.dbsc_register, name="dbsc_register"),
    path("session/dbsc/refresh/", dbsc.dbsc_refresh, name="dbsc_refresh"),
]
