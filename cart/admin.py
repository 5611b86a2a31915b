"""Staff view of the catalog, carts and orders."""

from django import forms
from django.contrib import admin
from django.db import transaction

from cart import copies
from cart.models import Cart, CartItem, Category, Order, OrderLine, Product
from shopdemo.admin_a11y import LabelledInlineFormSet


class LabelledRowForm(forms.ModelForm):
    """A change list row whose inputs say what they are for ("Price of Aurora Desk Lamp"): the table has no <label>s."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["aria-label"] = f"{field.label} of {self.instance}"


class EditableListAdmin(admin.ModelAdmin):
    def get_changelist_form(self, request, **kwargs):
        return super().get_changelist_form(request, form=LabelledRowForm, **kwargs)


@admin.register(Category)
class CategoryAdmin(EditableListAdmin):
    list_display = ["name", "position"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Product)
class ProductAdmin(EditableListAdmin):
    list_display = ["name", "category", "price", "stock", "is_active"]
    list_editable = ["price", "stock", "is_active"]
    list_filter = ["is_active", "category"]
    list_select_related = ["category"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


class CartItemInline(admin.TabularInline):
    model = CartItem
    formset = LabelledInlineFormSet
    extra = 0
    raw_id_fields = ["product"]


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ["pk", "user", "status", "merged_into", "created_at", "updated_at"]
    list_filter = ["status", ("user", admin.EmptyFieldListFilter)]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user", "merged_into"]
    inlines = [CartItemInline]

    # A staff edit is a change to the cart like a shopper's: the cached variant's copies of
    # its lines (cart.copies) end, under the owner it had and the one it has.
    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        copies.cart_changed(form.instance)
        copies.cart_changed(Cart(pk=form.instance.pk, user_id=form.initial.get("user")))

    def delete_model(self, request, obj):
        copies.cart_changed(obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for cart in queryset:
                copies.cart_changed(cart)
            super().delete_queryset(request, queryset)


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    formset = LabelledInlineFormSet
    extra = 0
    can_delete = False
    readonly_fields = ["product", "product_name", "unit_price", "quantity"]

    def has_add_permission(self, request, obj=None):
        return False


class GuestOrderFilter(admin.SimpleListFilter):
    title = "placed by"
    parameter_name = "placed_by"

    def lookups(self, request, model_admin):
        return [("account", "an account"), ("guest", "a guest, not claimed"), ("claimed", "a guest, claimed")]

    def queryset(self, request, queryset):
        return {
            "account": lambda: queryset.filter(email=""),
            "guest": lambda: queryset.exclude(email="").filter(claimed_at__isnull=True),
            "claimed": lambda: queryset.filter(claimed_at__isnull=False),
        }.get(self.value(), lambda: queryset)()


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "user", "email", "claimed", "total", "created_at"]
    list_filter = [GuestOrderFilter]
    search_fields = ["number", "user__username", "email"]
    list_select_related = ["user"]
    readonly_fields = ["number", "user", "email", "claimed_at", "shipping", "total", "created_at"]
    inlines = [OrderLineInline]

    @admin.display(description="claimed by an account", boolean=True)
    def claimed(self, order):
        """None (shown as a dash) for an account's own order: there was nothing to claim."""
        return order.claimed_at is not None if order.is_guest else None
