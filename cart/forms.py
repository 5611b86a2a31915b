"""Forms that parse cart input; the services decide what is allowed."""

from django import forms
from django.conf import settings

from cart.models import Order
from cart.selectors import SORTS
from cart.services import MSG_QUANTITY_RANGE

# A form's id: unique per rendered form (cart.context_processors.storefront).
REQUEST_ID = r"^[A-Za-z0-9_-]{16,64}$"


class FirstErrorMixin:
    @property
    def first_error(self) -> str:
        return next(iter(self.errors.values()))[0]


class CheckoutForm(FirstErrorMixin, forms.Form):
    """The delivery address of an order (empty: collect in store) and the form's id, as the checkout page posts them."""

    address = forms.CharField(
        required=False,
        max_length=Order._meta.get_field("address").max_length,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": "The address can be at most %(limit_value)d characters long."},
    )
    # Unique per rendered checkout page: the same order sent twice (a retry after an error page) is placed once.
    request_id = forms.RegexField(
        REQUEST_ID,
        required=False,
        error_messages={"invalid": "This form was damaged on the way; please reload the page and order again."},
    )


class CartLineForm(FirstErrorMixin, forms.Form):
    """A product id and a quantity, as posted by the add/update/remove forms."""

    product = forms.IntegerField(
        min_value=1,
        max_value=2**63 - 1,  # the largest id a BigAutoField holds: past it, SQLite raises instead of finding none
        error_messages={
            "required": "Choose a product.",
            "invalid": "Unknown product.",
            "min_value": "Unknown product.",
            "max_value": "Unknown product.",
        },
    )
    quantity = forms.IntegerField(required=False, min_value=0)
    # Unique per rendered add form (cart.context_processors.storefront): the same add sent twice counts once.
    request_id = forms.RegexField(
        REQUEST_ID,
        required=False,
        error_messages={"invalid": "This form was damaged on the way; please reload the page and add again."},
    )

    def __init__(self, *args, default_quantity=1, **kwargs):
        super().__init__(*args, **kwargs)
        self.default_quantity = default_quantity
        range_message = MSG_QUANTITY_RANGE.format(max=settings.MAX_LINE_QUANTITY)
        self.fields["quantity"].error_messages.update(invalid=range_message, min_value=range_message)

    def clean_quantity(self):
        quantity = self.cleaned_data["quantity"]
        if quantity is None:
            return self.default_quantity
        # Bounded here so a huge number never reaches the database as an overflow.
        if quantity > settings.MAX_LINE_QUANTITY:
            raise forms.ValidationError(MSG_QUANTITY_RANGE.format(max=settings.MAX_LINE_QUANTITY))
        return quantity


class CatalogForm(FirstErrorMixin, forms.Form):
    """The catalog's search box, category filter and sort order (all optional, from the query string)."""

    q = forms.CharField(
        required=False, max_length=100, error_messages={"max_length": "Search for at most 100 characters."}
    )
    category = forms.SlugField(required=False, error_messages={"invalid": "There is no category by that name."})
    sort = forms.ChoiceField(
        required=False,
        choices=[(value, label) for value, (label, _) in SORTS.items()],
        error_messages={"invalid_choice": "Sort by name or by price."},
    )

    def filters(self) -> dict[str, str]:
        """The valid filters; an invalid one falls back to its default (the page says which was wrong)."""
        self.is_valid()
        return {"q": "", "category": "", "sort": "", **self.cleaned_data}


class GuestCheckoutForm(CheckoutForm):
    """A guest's order: the address its mail and link go to, and where it is delivered (blank: collect in store)."""

    email = forms.EmailField(
        max_length=Order._meta.get_field("email").max_length,
        error_messages={
            "required": "Enter the email address your order confirmation should go to.",
            "invalid": "Enter a valid email address, like name@example.com.",
            "max_length": "An email address has at most %(limit_value)d characters.",
        },
    )
