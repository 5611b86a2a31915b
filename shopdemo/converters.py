"""Path converters that bound what a URL may carry before any view or query sees it."""


class PublicIdConverter:
    """A session's public id (accounts.models.new_public_id): base64url, at most 32 characters."""

    regex = "[A-Za-z0-9_-]{1,32}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class OrderNumberConverter(PublicIdConverter):
    """An order number (cart.services): letters and digits, at most Order.number's 12."""

    regex = "[A-Za-z0-9]{1,12}"
