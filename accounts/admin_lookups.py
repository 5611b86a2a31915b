"""Admin list filters checked before they reach the database."""

from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.validators import validate_ipv46_address
from django.db.models import GenericIPAddressField

IP_LOOKUPS = {"": False, "exact": False, "in": True}  # lookup -> whether its value is a comma-separated list


class ValidatedIPLookups:
    """A ModelAdmin mixin: `?ip=notanip` (or any lookup on an IP address field but these) is refused.

    Django passes an IP address field's filter value to the database unchecked, and
    PostgreSQL's inet type answers a malformed one with an error (a 500). Refused here,
    the admin shows its usual "incorrect lookup" notice instead.
    """

    def get_changelist_instance(self, request):
        for name, values in request.GET.lists():
            field_name, _, lookup = name.partition("__")
            try:
                field = self.model._meta.get_field(field_name)
            except FieldDoesNotExist:
                continue
            if isinstance(field, GenericIPAddressField) and lookup != "isnull":
                _check_addresses(lookup, values)
        return super().get_changelist_instance(request)


def _check_addresses(lookup: str, values: list[str]) -> None:
    if lookup not in IP_LOOKUPS:
        raise IncorrectLookupParameters(f"IP addresses are filtered by exact value, not by {lookup!r}.")
    for value in values:
        for address in value.split(",") if IP_LOOKUPS[lookup] else [value]:
            try:
                validate_ipv46_address(address)
            except ValidationError as error:
                raise IncorrectLookupParameters(error) from error
