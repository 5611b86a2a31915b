"""Site-wide error pages."""

import sys

from django.db import InterfaceError, OperationalError
from django.shortcuts import render

DATABASE_DOWN_RETRY_SECONDS = 30


def server_error(request):
    """A friendly 503 while the database is unreachable; Django's 500 otherwise.

    Both pages are plain templates that touch no database. Connections are
    health-checked (CONN_HEALTH_CHECKS), so the site recovers on its own
    when the database is back, with no process restart.
    """
    if isinstance(sys.exception(), (OperationalError, InterfaceError)):
        response = render(request, "503.html", status=503)
        response["Retry-After"] = str(DATABASE_DOWN_RETRY_SECONDS)
        return response
    return render(request, "500.html", status=500)
