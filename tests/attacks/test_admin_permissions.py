"""Staff members try every page and action of the admin beyond their permissions.

Four staff members: one who may only view (every model), one who may also
change, one who may also delete, and a superuser. Each walks every registered
model's changelist, change, add, delete and history pages, every custom view,
the dashboard, and every action, and gets exactly what their permissions give.
"""

import re

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditEvent, Session
from accounts.monitoring.security import mail_notice
from tests.conftest import is_signed_in
from tests.factories import CartFactory, CategoryFactory, OrderFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

VIEW, CHANGE, DELETE, SUPERUSER = "view-only", "change", "delete", "superuser"
ROLES = [VIEW, CHANGE, DELETE, SUPERUSER]
ROLE_PERMISSIONS = {VIEW: {"view"}, CHANGE: {"view", "change"}, DELETE: {"view", "delete"}}

# What each model's admin allows at most (a superuser's add / change / delete):
# the trail, sessions and axes' records are never written by hand.
CAPABILITIES = {
    "auth.Group": "acd",
    "auth.User": "acd",
    "axes.AccessAttempt": "cd",
    "axes.AccessLog": "cd",
    "axes.AccessFailureLog": "cd",
    "otp_totp.TOTPDevice": "acd",
    "otp_static.StaticDevice": "acd",
    "accounts.Session": "d",
    "accounts.AuditEvent": "",
    "cart.Category": "acd",
    "cart.Product": "acd",
    "cart.Cart": "acd",
    "cart.Order": "acd",
    "django_tasks_database.DBTaskResult": "",  # the mail queue: staff watch it, the worker writes it
}
# Every action, and the permission it needs on its model.
ACTIONS = {
    "auth.Group": {"delete_selected": "delete"},
    "auth.User": {"delete_selected": "delete", "end_all_sessions": "change"},
    "axes.AccessAttempt": {"delete_selected": "delete", "cleanup_expired_attempts": "delete"},
    "axes.AccessLog": {"delete_selected": "delete"},
    "axes.AccessFailureLog": {"delete_selected": "delete"},
    "otp_totp.TOTPDevice": {"delete_selected": "delete"},
    "otp_static.StaticDevice": {"delete_selected": "delete"},
    "accounts.Session": {"end_sessions": "delete"},  # ending records why; a bare delete would not
    "accounts.AuditEvent": {},
    "cart.Category": {"delete_selected": "delete"},
    "cart.Product": {"delete_selected": "delete"},
    "cart.Cart": {"delete_selected": "delete"},
    "cart.Order": {"delete_selected": "delete"},
    "django_tasks_database.DBTaskResult": {},
}
ACTION_OPTION = re.compile(r'<option value="(\w+)">')


def staff(role: str) -> Client:
    member = UserFactory(username=f"staff-{role}", is_staff=True, is_superuser=role == SUPERUSER)
    if role != SUPERUSER:
        codenames = [Permission.objects.filter(codename__startswith=f"{verb}_") for verb in ROLE_PERMISSIONS[role]]
        member.user_permissions.add(*[perm for query in codenames for perm in query])
    client = Client()
    client.force_login(member)
    return client


def may(role: str, verb: str, label: str) -> bool:
    """What the matrix promises: the role holds the permission and the model's admin offers it."""
    offered = verb == "view" or verb[0] in CAPABILITIES[label]
    return offered and (role == SUPERUSER or verb in ROLE_PERMISSIONS[role])


@pytest.fixture
def victim(client, mail_queue):
    """A shopper signed in in her own browser, with one of every object the admin lists (a queued mail too)."""
    user = UserFactory(username="victim")
    mail_notice.enqueue(to=[user.email], subject="Hello", body="A queued mail.")
    client.force_login(user)
    client.get("/accounts/")
    Group.objects.create(name="ops")
    seen = {"username": "victim", "ip_address": "10.0.0.9", "user_agent": "x", "http_accept": "*/*"}
    seen["path_info"] = "/accounts/login/"
    AccessLog.objects.create(**seen)
    AccessFailureLog.objects.create(**seen, locked_out=False)
    AccessAttempt.objects.create(**seen, get_data="", post_data="", failures_since_start=1)
    TOTPDevice.objects.create(user=user, name="phone")
    StaticDevice.objects.create(user=user, name="backup")
    AuditEvent.objects.create(event="authn_login_success", username="victim")
    OrderFactory(user=user)
    CartFactory(user=user)
    ProductFactory(category=CategoryFactory())
    return user


def object_urls(label: str) -> dict[str, str]:
    model = next(model for model in admin.site._registry if model._meta.label == label)
    obj = model._default_manager.order_by("pk").last()
    object_id = obj.public_id if isinstance(obj, Session) else obj.pk
    prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    return {
        "view": reverse(f"{prefix}_changelist"),
        "change": reverse(f"{prefix}_change", args=[object_id]),
        "history": reverse(f"{prefix}_history", args=[object_id]),
        "add": reverse(f"{prefix}_add"),
        "delete": reverse(f"{prefix}_delete", args=[object_id]),
    }


def test_the_matrix_covers_every_registered_admin():
    assert {model._meta.label for model in admin.site._registry} == set(CAPABILITIES) == set(ACTIONS)


def test_every_action_declares_its_permission():
    for model_admin in admin.site._registry.values():
        for func, name, _ in model_admin._get_base_actions():
            assert getattr(func, "allowed_permissions", None), f"{model_admin} action {name} declares no permission"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("label", sorted(CAPABILITIES))
def test_each_page_answers_as_the_permissions_say(victim, role, label):
    client = staff(role)
    urls = object_urls(label)
    for page in ["view", "history", "add", "delete"]:
        expected = 200 if may(role, "view" if page == "history" else page, label) else 403
        assert client.get(urls[page]).status_code == expected, (role, label, page)
    change_page = client.get(urls["change"])
    assert change_page.status_code == 200
    assert ('name="_save"' in change_page.content.decode()) == may(role, "change", label), (role, label)
    offered = set(ACTION_OPTION.findall(client.get(urls["view"]).content.decode()))
    assert offered == {name for name, verb in ACTIONS[label].items() if may(role, verb, label)}, (role, label)


@pytest.mark.parametrize("role", ROLES)
def test_custom_views_answer_as_the_permissions_say(victim, role):
    client = staff(role)
    device = TOTPDevice.objects.get(user=victim)
    # A TOTP secret is nobody's to read, a superuser's neither.
    assert client.get(f"/admin/otp_totp/totpdevice/{device.pk}/config/").status_code == 403
    assert client.get(f"/admin/otp_totp/totpdevice/{device.pk}/qrcode/").status_code == 403
    assert device.key not in client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/").content.decode()
    password_page = client.get(f"/admin/auth/user/{victim.pk}/password/")
    assert password_page.status_code == (200 if may(role, "change", "auth.User") else 403)
    # Every role here may view audit events, so each sees the dashboard.
    assert client.get("/admin/dashboard/").status_code == 200


def test_staff_who_may_not_read_the_trail_get_no_dashboard(victim):
    client = staff(VIEW)
    client_user = Session.objects.exclude(user=victim).get().user
    client_user.user_permissions.remove(Permission.objects.get(codename="view_auditevent"))
    AuditEvent.objects.create(event="session_hijack_suspected", username="victim", ip="203.0.113.7")
    assert client.get("/admin/dashboard/").status_code == 403
    assert "Monitoring dashboard" not in client.get("/admin/").content.decode()


def run_action(client, changelist: str, action: str, selected) -> None:
    client.post(changelist, {"action": action, "_selected_action": [str(pk) for pk in selected], "post": "yes"})


@pytest.mark.parametrize("role", ROLES)
def test_ending_all_of_a_users_sessions_needs_change_permission(victim, client, role):
    run_action(staff(role), "/admin/auth/user/", "end_all_sessions", [victim.pk])
    assert is_signed_in(client) == (not may(role, "change", "auth.User"))


@pytest.mark.parametrize("role", ROLES)
def test_ending_a_session_needs_delete_permission(victim, client, role):
    row = Session.objects.get(user=victim)
    run_action(staff(role), "/admin/accounts/session/", "end_sessions", [row.public_id])
    assert is_signed_in(client) == (not may(role, "delete", "accounts.Session"))


@pytest.mark.parametrize("role", ROLES)
def test_cleaning_up_lockout_records_needs_delete_permission(victim, role):
    # axes itself drops expired attempts at every request, so what tells is the answer.
    answer = staff(role).post(
        "/admin/axes/accessattempt/",
        {"action": "cleanup_expired_attempts", "_selected_action": [str(AccessAttempt.objects.get().pk)]},
        follow=True,
    )
    assert answer.status_code == 200
    ran = "expired access attempts" in answer.content.decode()
    assert ran == may(role, "delete", "axes.AccessAttempt")
