"""Receivers for auth's signals: each hands off in one line."""
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from accounts.session_policy import AUTH_AT


@receiver(user_logged_in)
def stamp_sign_in_time(sender, request, user, **kwargs):
    # Whatever signed the user in (shop, admin), the absolute limit counts from now.
    request.session[AUTH_AT] = timezone.now().timestamp()


@receiver(post_save, sender=get_user_model())
def end_sessions_of_deactivated_user(sender, instance, **kwargs):
    # ASVS V7.4.2: a deactivated account keeps no live session.
    if not instance.is_active:
        instance.sessions.all().delete()
