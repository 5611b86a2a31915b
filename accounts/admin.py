"""The operators' console: sessions, users' sessions and the audit trail, read-only where it matters."""

import json

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.db.models import IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django_otp.plugins.otp_static.admin import StaticDeviceAdmin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

from accounts.admin_lookups import ValidatedIPLookups
from accounts.devices import describe
from accounts.flows.sessions import sessions_end
from accounts.models import AuditEvent, Session, live_condition
from accounts.sessions import dbsc
from accounts.sessions import policy as session_policy
from cart.models import Cart, CartItem
from shopdemo.admin_a11y import LABELLED_DATETIMES

User = get_user_model()

# The session keys staff may read: what the lifecycle and the cart keep. Every
# other key, including whatever a library adds later, shows as HIDDEN.
SHOWN_SESSION_KEYS = frozenset(
    {
        session_policy.CART_SESSION_KEY,
        session_policy.REMEMBER,
        session_policy.AUTH_AT,
        session_policy.ROTATED_AT,
        session_policy.REAUTH_AT,
        session_policy.REQUESTED_EXPIRY,
        session_policy.AUTH_METHOD,
    }
)
HIDDEN = "[hidden]"


def _units(**item_filter):
    """A subquery summing the units of the one cart whose lines match `item_filter`."""
    items = CartItem.objects.filter(**item_filter).order_by().values("cart").annotate(units=Sum("quantity"))
    return Coalesce(Subquery(items.values("units")[:1], output_field=IntegerField()), 0)


class ActiveFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "active"), ("expired", "expired, waiting for purge")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.live()
        if self.value() == "expired":
            return queryset.exclude(live_condition())
        return queryset


class KindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("guest", "guest"), ("signed_in", "signed in")]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(user__isnull=self.value() == "guest")
        return queryset


def admin_session_url(public_id: str) -> str:
    """The admin page of a session, by public id, quoted as the admin quotes every id in its URLs
    (a raw "_3B" in an id would come back from the admin's unquote() as ";")."""
    return reverse("admin:accounts_session_change", args=[quote(public_id)])


class PublicIdChangeList(ChangeList):
    def url_for_result(self, result):
        return admin_session_url(result.public_id)


class DeviceBindingFilter(admin.SimpleListFilter):
    title = "device binding (DBSC)"
    parameter_name = "bound"

    def lookups(self, request, model_admin):
        return [("yes", "bound to a device key"), ("no", "not bound")]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(device_key__isnull=self.value() == "no")
        return queryset


@admin.register(Session)
class SessionAdmin(ValidatedIPLookups, admin.ModelAdmin):
    list_display = [
        "public_id", "user", "kind", "remember", "device_bound", "ip", "device", "created_at", "last_activity",
        "expire_date", "absolute_expiry", "cart_units",
    ]  # fmt: skip
    list_filter = [ActiveFilter, KindFilter, "remember", DeviceBindingFilter]
    search_fields = ["user__username", "ip"]
    list_select_related = ["user"]
    ordering = ["-last_activity"]
    actions = ["end_sessions"]
    # ASVS V14.2.1: the table holds only a hash of each key, and even that
    # stays off the pages: links, checkboxes and actions go by public id.
    fields = [
        "public_id", "user", "ip", "user_agent", "remember", "device_binding", "created_at", "last_activity",
        "expire_date", "data", "events",
    ]  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request):
        # Cart units in the same query: the guest's cart, or the account's open cart.
        return (
            super()
            .get_queryset(request)
            .annotate(
                guest_units=_units(cart_id=OuterRef("guest_cart_id")),
                account_units=_units(cart__user=OuterRef("user"), cart__status=Cart.Status.OPEN),
            )
        )

    def get_changelist(self, request, **kwargs):
        return PublicIdChangeList

    def get_object(self, request, object_id, from_field=None):
        # The live row of that public id (a rotated key's grace row shares it).
        queryset = self.get_queryset(request).filter(successor_key__isnull=True)
        return queryset.filter(public_id=object_id).first()

    def action_checkbox(self, obj):
        attrs = {"class": "action-select", "aria-label": f"Select session {obj.public_id}"}
        return forms.CheckboxInput(attrs, lambda value: False).render(ACTION_CHECKBOX_NAME, obj.public_id)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Ending a session is the end_sessions action (which records it); the
        # delete link would also carry the primary key.
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "show_delete": False})

    def response_action(self, request, queryset):
        # The checkboxes carry public ids; actions select every row of those sessions.
        selected = request.POST.getlist(ACTION_CHECKBOX_NAME)
        post = request.POST.copy()
        post.setlist(ACTION_CHECKBOX_NAME, list(queryset.filter(public_id__in=selected).values_list("pk", flat=True)))
        request.POST = post
        return super().response_action(request, queryset)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # ending goes through end_sessions, which records it
        return actions

    @admin.action(description="End selected sessions", permissions=["delete"])
    def end_sessions(self, request, queryset):
        ended = sessions_end(queryset, reason="ended_by_staff", request=request)
        self.message_user(request, f"Ended {ended} session{pluralize(ended)}.", messages.SUCCESS)

    @admin.display(description="kind")
    def kind(self, obj):
        return "guest" if obj.is_guest else "signed in"

    @admin.display(description="device")
    def device(self, obj):
        return format_html('<span title="{}">{}</span>', obj.user_agent, describe(obj.user_agent))

    @admin.display(description="device-bound", boolean=True)
    def device_bound(self, obj):
        return obj.device_bound

    @admin.display(description="device binding (DBSC)")
    def device_binding(self, obj):
        if not obj.device_bound:
            return "not bound"
        return (
            f"bound since {obj.device_bound_at:%Y-%m-%d %H:%M:%S} UTC; key thumbprint {dbsc.thumbprint(obj.device_key)}"
        )

    @admin.display(description="absolute limit")
    def absolute_expiry(self, obj):
        return session_policy.absolute_deadline(obj.get_decoded()) or "—"

    @admin.display(description="cart units")
    def cart_units(self, obj):
        return obj.guest_units if obj.is_guest else obj.account_units

    @admin.display(description="decoded data")
    def data(self, obj):
        data = {key: value if key in SHOWN_SESSION_KEYS else HIDDEN for key, value in obj.get_decoded().items()}
        # Focusable and named: a keyboard can scroll it, a screen reader says what it is.
        decoded = json.dumps(data, indent=2, sort_keys=True)
        return format_html('<pre tabindex="0" aria-label="Decoded session data">{}</pre>', decoded)

    @admin.display(description="events of this session")
    def events(self, obj):
        rows = AuditEvent.objects.filter(session_public_id=obj.public_id)[:50]
        if not rows:
            return "none"
        items = format_html_join("", "<li>{} {} {}</li>", ((e.created_at, e.event, e.ip or "") for e in rows))
        return format_html("<ul>{}</ul>", items)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ValidatedIPLookups, admin.ModelAdmin):
    list_display = ["created_at", "event", "level", "username", "ip", "session_public_id", "path"]
    list_filter = ["event", "level", ("user", admin.RelatedOnlyFieldListFilter), "ip", "created_at"]
    search_fields = ["username", "ip", "session_public_id"]
    date_hierarchy = "created_at"
    list_select_related = ["user"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the trail is trimmed only by purge_sessions' retention


admin.site.unregister(User)


@admin.register(User)
class ShopUserAdmin(UserAdmin):
    actions = ["end_all_sessions"]
    # Django's two-box filter widget labels its icons with aria-label on a bare <span> (axe:
    # aria-prohibited-attr); the plain multiple select is labelled and works by keyboard.
    filter_horizontal = ()
    formfield_overrides = LABELLED_DATETIMES

    @admin.action(description="End all sessions of this user", permissions=["change"])
    def end_all_sessions(self, request, queryset):
        ended = sessions_end(Session.objects.filter(user__in=queryset), reason="ended_by_staff", request=request)
        self.message_user(request, f"Ended {ended} session{pluralize(ended)}.", messages.SUCCESS)


admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class ShopAccessAttemptAdmin(AccessAttemptAdmin):
    actions = ["cleanup_expired_attempts"]

    # axes' action declares no permission: a view-only staff member could run it.
    @admin.action(description="Clean up expired attempts", permissions=["delete"])
    def cleanup_expired_attempts(self, request, queryset):
        # axes counts the cool-off back from the request's attempt time, which
        # only its sign-in handling sets: without it the action is a 500.
        request.axes_attempt_time = timezone.now()
        return super().cleanup_expired_attempts(request, queryset)


# Background work (every mail): what is queued, retried and failed. The task's
# arguments stay hidden: they hold addresses (a password reset's may be
# anybody's), and no link with a token is ever among them (shopdemo/mail.py).
admin.site.unregister(DBTaskResult)


@admin.register(DBTaskResult)
class MailTaskAdmin(DBTaskResultAdmin):
    list_display = ("task_name", "status", "attempt", "enqueued_at", "display_run_after", "finished_at")
    list_filter = ("status", "queue_name")
    HIDDEN = ("args_kwargs", "return_value")

    def get_readonly_fields(self, request, obj=None):
        return [name for name in super().get_readonly_fields(request, obj) if name not in self.HIDDEN] + ["attempt"]

    @admin.display(description="attempt")
    def attempt(self, obj) -> int:
        """1 for the first try; each retry is a row of its own with the next number."""
        return obj.args_kwargs["kwargs"].get("attempt", 0) + 1


# Django's and django-otp's own admins, with the same fixes: the plain labelled multiple
# select, labelled date-time inputs, and a search box without the help text that axe reads
# as its only name (label-title-only).
admin.site.unregister(Group)
admin.site.register(Group, type("ShopGroupAdmin", (GroupAdmin,), {"filter_horizontal": ()}))
for _model, _admin in [(TOTPDevice, TOTPDeviceAdmin), (StaticDevice, StaticDeviceAdmin)]:
    admin.site.unregister(_model)
    admin.site.register(
        _model,
        type(
            f"Shop{_admin.__name__}", (_admin,), {"formfield_overrides": LABELLED_DATETIMES, "search_help_text": None}
        ),
    )
