"""Staff view of sessions: who holds them, from where, and what they contain (read-only)."""
import json

from django.contrib import admin
from django.contrib.auth import HASH_SESSION_KEY
from django.utils.html import format_html

from accounts.models import Session


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ["public_id", "user", "kind", "ip", "user_agent", "created_at", "last_activity", "expire_date"]
    list_filter = [("user", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "ip"]
    list_select_related = ["user"]
    ordering = ["-last_activity"]
    # The key is the bearer credential (ASVS V14.2.1): only the public id is
    # displayed; the key is in this admin's own links only because it is the pk.
    fields = ["public_id", "user", "ip", "user_agent", "created_at", "last_activity", "expire_date", "data"]
    readonly_fields = fields

    @admin.display(description="kind")
    def kind(self, obj):
        return "guest" if obj.is_guest else "signed in"

    @admin.display(description="decoded data")
    def data(self, obj):
        data = obj.get_decoded()
        if HASH_SESSION_KEY in data:
            data[HASH_SESSION_KEY] = "(hidden: derived from the password hash)"
        return format_html("<pre>{}</pre>", json.dumps(data, indent=2, sort_keys=True))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
