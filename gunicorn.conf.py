"""gunicorn settings read from the working directory (make serve, the tests' servers)."""

from gunicorn.glogging import Logger


class RedactingLogger(Logger):
    """gunicorn's logger, with emailed links' tokens taken out of the access log's atoms."""

    def atoms(self, resp, req, environ, request_time):
        from accounts.monitoring.redact import redact  # the app's path is set up by now

        return {key: redact(value) for key, value in super().atoms(resp, req, environ, request_time).items()}


logger_class = RedactingLogger
# A worker silent this long is restarted: above the database's bounded waits
# (DATABASE_STATEMENT_TIMEOUT, 10 s), below HAProxy's 30 s, so the balancer never
# answers for a request the app is still working on.
timeout = 25
