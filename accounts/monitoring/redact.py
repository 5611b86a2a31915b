"""Keep the secrets of emailed links out of logs and audit rows.

A password-reset, email-confirmation or guest-order link carries its token in the path.
Every place that writes a path down (the audit trail, Django's request
loggers, runserver's and gunicorn's access logs) passes it through
`redact()`. No Django import here: gunicorn's master process loads it.
"""

import logging
import re

# The token routes of accounts/urls.py: the reset link /accounts/password/reset/<uidb64>/<token>/
# (and Django's token-less /…/<uidb64>/set-password/), /accounts/email/verify/<token>/ and
# /accounts/email/undo/<token>/; and the order mail's link of cart/urls.py,
# /orders/<number>/link/<token>/ (its number stays readable).
SECRET_PATHS = re.compile(
    r"(?P<prefix>/accounts/password/reset/)(?!done/)[^/\s?#\"']+/[^/\s?#\"']+"
    r"|(?P<verify>/accounts/email/(?:verify|undo)/|/orders/[^/\s?#\"']+/link/)[^/\s?#\"']+"
)
REDACTED = "[redacted]"


def _replace(match: re.Match) -> str:
    if match.group("prefix"):
        return f"{match.group('prefix')}{REDACTED}"
    return f"{match.group('verify')}{REDACTED}"


def redact(text: str) -> str:
    """Return `text` with the token part of any emailed link's path replaced."""
    if not isinstance(text, str) or ("/accounts/" not in text and "/orders/" not in text):
        return text
    return SECRET_PATHS.sub(_replace, text)


class RedactSecrets(logging.Filter):
    """A logging filter that redacts link tokens in the message, its arguments and a `path` or `request` field."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if redact(message) != message:
            record.msg, record.args = redact(message), ()
        if isinstance(getattr(record, "path", None), str):
            record.path = redact(record.path)
        if getattr(record, "request", None) is not None:
            # Django's request loggers attach the request; its repr names the path.
            record.request = redact(repr(record.request))
        return True
