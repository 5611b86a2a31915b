"""`/metrics`: the shop in Prometheus text, for operators, behind METRICS_TOKEN.

Two sources. What requests do (audit events, alerts, lockouts; django-prometheus'
requests, latency, queries and cache reads) is counted in each process
(accounts.monitoring.counters); under gunicorn every worker keeps its values in
PROMETHEUS_MULTIPROC_DIR and a scrape adds them up. What the database holds
(live sessions, the last purge, the addresses failing to sign in) is read at
scrape time with the dashboard's queries, so every server reports the same
figure: aggregate those with max(), the counters with sum().

Audit events are not counted from the audit table: purge_sessions removes rows
past retention, and a counter that goes down is a reset to Prometheus' rate(),
which would read it as a burst of events that never happened.
"""

import hmac
import os
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from accounts.models import AuditEvent
from accounts.monitoring import dashboard


def process_metrics():
    """The counters of this process, or of every worker of this gunicorn in multiprocess mode."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry.collect()
    return REGISTRY.collect()


def database_metrics(now):
    """The gauges read from the tables: aggregates over the sessions and the mail queue, two audit trail lookups."""
    sessions = dashboard.session_counts(now)
    active = GaugeMetricFamily("shopdemo_sessions_active", "Sessions the server accepts now, by kind.", labels=["kind"])
    active.add_metric(["guest"], sessions.guest)
    active.add_metric(["signed_in"], sessions.signed_in)
    yield active
    yield GaugeMetricFamily(
        "shopdemo_sessions_device_bound",
        "Signed-in sessions bound to a device key (DBSC); their share is this over the signed_in sessions.",
        value=sessions.device_bound,
    )
    yield GaugeMetricFamily(
        "shopdemo_sessions_expired",
        "Session rows past their expiry, waiting for purge_sessions.",
        value=sessions.expired,
    )
    window = settings.DISTRIBUTED_WINDOW_SECONDS
    failing = AuditEvent.objects.filter(
        event="authn_login_fail", created_at__gte=now - timedelta(seconds=window), ip__isnull=False
    )
    yield GaugeMetricFamily(
        "shopdemo_login_failure_addresses",
        f"Client addresses with a failed sign-in in the last {window} s (DISTRIBUTED_WINDOW_SECONDS).",
        value=failing.values("ip").distinct().count(),
    )
    purge = dashboard.last_purge()
    if purge is not None:  # absent until the first purge: alerts.yml tells that from a stale one
        yield GaugeMetricFamily(
            "shopdemo_purge_last_success_timestamp_seconds",
            "When the last purge_sessions run finished (Unix time).",
            value=purge.finished_at.timestamp(),
        )
        yield GaugeMetricFamily(
            "shopdemo_purge_last_duration_seconds",
            "How long the last purge_sessions run took.",
            value=purge.duration_seconds,
        )
        rows = GaugeMetricFamily(
            "shopdemo_purge_last_removed_rows", "Rows the last purge_sessions run removed, by kind.", labels=["target"]
        )
        for target, count in purge.removed.items():
            rows.add_metric([target], count)
        yield rows
    # The mail queue (shopdemo.mail, db_worker): every mail is a row of django-tasks-db's table.
    tasks = DBTaskResult.objects.aggregate(
        waiting=Count("pk", filter=Q(status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING])),
        failed=Count("pk", filter=Q(status=TaskResultStatus.FAILED)),
    )
    yield GaugeMetricFamily(
        "shopdemo_mail_queue_depth",
        "Mail waiting for a db_worker (queued, due for a retry, or being sent).",
        value=tasks["waiting"],
    )
    yield GaugeMetricFamily(
        "shopdemo_mail_failed_attempts",
        "Failed send attempts kept in the queue (each retry is a row of its own; TASK_RETENTION_DAYS).",
        value=tasks["failed"],
    )


class Scrape:
    """What one scrape answers: the processes' counters, then the tables' gauges."""

    def collect(self):
        yield from process_metrics()
        yield from database_metrics(timezone.now())


# It changes nothing, and a CSRF refusal would tell that the address exists:
# without the token, every method gets the same 404 as an unknown address.
@csrf_exempt
def metrics(request):
    """Answer Prometheus text to `Authorization: Bearer <METRICS_TOKEN>`; 404 to anyone else."""
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    # In constant time: how long the comparison takes says nothing about how much of a guess was right.
    if not token or not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise Http404
    # The format the scraper asks for (Accept): Prometheus' text, or OpenMetrics.
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encode(Scrape()), content_type=content_type)
