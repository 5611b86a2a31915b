"""Console mail for a server without DEBUG: printed beside the JSON log, so redacted like it."""

import copy

from django.core.mail.backends import console

from accounts.monitoring.redact import redact


class EmailBackend(console.EmailBackend):
    """Django's console backend, with the token of every emailed link (reset, confirmation) redacted."""

    def write_message(self, message):
        message = copy.copy(message)
        message.body = redact(message.body)
        if hasattr(message, "alternatives"):
            message.alternatives = [alt._replace(content=redact(alt.content)) for alt in message.alternatives]
        super().write_message(message)
