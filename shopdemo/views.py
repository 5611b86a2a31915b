"""Site-wide pages: errors, the CSRF failure page, the health check."""

import sys

from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import JsonResponse
from django.shortcuts import render

from accounts.monitoring import audit
from cart.services import MSG_CONFLICT, is_retryable

DATABASE_DOWN_RETRY_SECONDS = 30
BUSY_RETRY_SECONDS = 5
# PostgreSQL's lock_timeout and statement_timeout (DATABASE_LOCK_TIMEOUT, DATABASE_STATEMENT_TIMEOUT).
TIMEOUT_SQLSTATES = {"55P03", "57014"}
MSG_BUSY = "Try again in a moment; if you just placed an order, it is in Your orders."


def server_error(request):
    """A friendly 503 while the database is unreachable or too slow; 409 for a lost race; Django's 500 otherwise.

    The pages are plain templates that touch no database. Connections are
    health-checked (CONN_HEALTH_CHECKS), so the site recovers on its own
    when the database is back, with no process restart. A deadlock or
    serialization failure is a busy moment, not an outage: it says so.
    """
    error = sys.exception()
    if is_retryable(error):
        return render(request, "409.html", {"reason": MSG_CONFLICT}, status=409)
    if isinstance(error, OperationalError) and getattr(error.__cause__, "sqlstate", None) in TIMEOUT_SQLSTATES:
        # A bounded wait ran out: the transaction was rolled back, nothing happens later.
        response = render(request, "503_busy.html", {"message": MSG_BUSY}, status=503)
        response["Retry-After"] = str(BUSY_RETRY_SECONDS)
        return response
    if isinstance(error, (OperationalError, InterfaceError)):
        response = render(request, "503.html", status=503)
        response["Retry-After"] = str(DATABASE_DOWN_RETRY_SECONDS)
        return response
    return render(request, "500.html", status=500)


def csrf_failure(request, reason=""):
    audit.record("malicious_csrf", request=request, reason=reason)
    return render(request, "403_csrf.html", status=403)


def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})
