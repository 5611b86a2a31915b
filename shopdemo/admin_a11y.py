"""What Django's admin leaves unlabelled, labelled: split date/time inputs and the rows of inline tables."""

from django.contrib.admin.widgets import AdminSplitDateTime
from django.db import models
from django.forms.models import BaseInlineFormSet


class LabelledSplitDateTime(AdminSplitDateTime):
    """The admin's date and time inputs, each named after its field ("Last login: date")."""

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        label = name.replace("_", " ").capitalize()
        for subwidget, part in zip(context["widget"]["subwidgets"], ("date", "time"), strict=True):
            subwidget["attrs"]["aria-label"] = f"{label}: {part}"
        return context


class LabelledInlineFormSet(BaseInlineFormSet):
    """An inline table's inputs say what they are for ("Quantity of 2 x Aurora Desk Lamp"): rows have no <label>s."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        row = str(form.instance) if form.instance.pk else f"new row {(index or 0) + 1}"
        for field in form.fields.values():
            field.widget.attrs["aria-label"] = f"{field.label} of {row}"


# A ModelAdmin's formfield_overrides that label its date-time inputs.
LABELLED_DATETIMES = {models.DateTimeField: {"widget": LabelledSplitDateTime}}
