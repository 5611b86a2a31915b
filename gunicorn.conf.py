"""gunicorn settings read from the working directory (make serve, the tests' servers)."""

import os
import shutil
import tempfile
from pathlib import Path

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

# prometheus-client's multiprocess mode: each worker keeps its counters in a file
# here and /metrics adds up every file, so a scrape answered by any worker counts
# them all. Set before the workers import the app; one directory per gunicorn,
# emptied at its start (an old run's files would add to the new counts).
_OWN_METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
if _OWN_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="shopdemo-metrics-")


def on_starting(server):
    for stale in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
        stale.unlink()


def on_exit(server):
    if _OWN_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
