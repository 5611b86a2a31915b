"""Receivers for auth's and axes' signals: each hands off in a line or two."""

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.signals import request_finished, request_started
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.flows.sessions import sessions_end
from accounts.monitoring import security
from accounts.sessions import policy as session_policy
from accounts.sessions.cached_store import now_and_after_commit
from accounts.sessions.store import engine_store
from shopdemo import mail


@receiver(user_logged_in)
def on_sign_in(sender, request, user, **kwargs):
    # The sign-in's audit record is written by accounts.flows.sign_in.sign_in(), which knows the method.
    session_policy.mark_signed_in(request.session)


# What a refused passkey answer adds to its failure record (accounts.flows.passkeys).
FAILURE_DETAILS = ("method", "purpose", "reason")


@receiver(user_login_failed)
def on_sign_in_failure(sender, credentials, request=None, **kwargs):
    details = {key: credentials[key] for key in FAILURE_DETAILS if key in credentials}
    security.record_login_failure(request=request, username=credentials.get("username") or "", **details)


@receiver(user_locked_out)
def on_lockout(sender, request, username, ip_address, **kwargs):
    security.record_lockout(request=request, username=username or "")


@receiver(post_save, sender=get_user_model())
def end_sessions_of_deactivated_user(sender, instance, **kwargs):
    # ASVS V7.4.2: a deactivated account keeps no live session.
    if not instance.is_active:
        sessions_end(instance.sessions.all(), reason="deactivated")


@receiver([post_save, post_delete], sender=get_user_model())
def forget_copied_user(sender, instance, **kwargs):
    now_and_after_commit(engine_store().forget_user, instance.pk)


@receiver(request_started)
def hold_work_until_answered(sender, **kwargs):
    mail.after_response_open()


@receiver(request_finished)
def run_work_held_until_answered(sender, **kwargs):
    # request_finished fires when the response is closed, after its last byte.
    mail.after_response_run()
