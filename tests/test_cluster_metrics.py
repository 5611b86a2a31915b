"""Prometheus in front of the cluster: it scrapes both app servers, and the alert rules see a burst.

Real processes on loopback: HAProxy, two gunicorns (each with two workers, counting
in multiprocess mode as gunicorn.conf.py sets it up), Redis, the test PostgreSQL, and
Debian's Prometheus loading deploy/prometheus/alerts.yml, as `make cluster` runs them.
"""

import pytest
import requests

from accounts.models import AuditEvent
from tests.servers import WAIT_SECONDS, start_cluster, start_prometheus, stop, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TOKEN = "cluster-metrics-token-7d21"
USERNAMES = [f"target{n}" for n in range(6)]
FAILURES_EACH = 5  # AXES_FAILURE_LIMIT: the fifth locks


@pytest.fixture(scope="module")
def watched(django_db_setup):
    cluster = start_cluster(METRICS_TOKEN=TOKEN)
    try:
        targets = [f"127.0.0.1:{cluster.ports[name]}" for name in ("a", "b")]
        prometheus, url = start_prometheus(targets, TOKEN)
    except BaseException:
        cluster.stop()
        raise
    yield cluster, url
    stop(prometheus)
    cluster.stop()


def query(url, expr) -> list[dict]:
    answer = requests.get(f"{url}/api/v1/query", params={"query": expr}, timeout=WAIT_SECONDS).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def by_instance(results) -> dict:
    return {result["metric"].get("instance"): float(result["value"][1]) for result in results}


def rule(url, name) -> dict:
    groups = requests.get(f"{url}/api/v1/rules", timeout=WAIT_SECONDS).json()["data"]["groups"]
    return next(rule for group in groups for rule in group["rules"] if rule["name"] == name)


def fail_sign_ins(url, username, times) -> set[int]:
    """Fail to sign in as `username` `times` times from one browser; the statuses answered."""
    browser = requests.Session()
    browser.get(f"{url}/accounts/login/", timeout=WAIT_SECONDS)
    data = {"username": username, "password": "wrong", "csrfmiddlewaretoken": browser.cookies["csrftoken"]}
    return {browser.post(f"{url}/accounts/login/", data, timeout=WAIT_SECONDS).status_code for _ in range(times)}


def test_prometheus_scrapes_both_servers_and_the_balancer_hides_metrics(watched):
    cluster, url = watched

    def both_up():
        targets = requests.get(f"{url}/api/v1/targets", timeout=WAIT_SECONDS).json()["data"]["activeTargets"]
        return sorted(t["health"] for t in targets) == ["up", "up"]

    wait_until(both_up, "both app servers scraped")
    bound = query(url, 'shopdemo_sessions_active{kind="signed_in"}')
    assert sorted(by_instance(bound)) == sorted(f"127.0.0.1:{cluster.ports[name]}" for name in ("a", "b"))
    # django-prometheus' families from the real backends: Redis reads, PostgreSQL queries, responses.
    for name in ("a", "b"):
        assert requests.get(f"{cluster.app_url(name)}/", timeout=WAIT_SECONDS).ok
    for family in (
        'django_cache_get_total{backend="redis"}',
        'django_db_execute_total{vendor="postgresql"}',
        'django_http_responses_total_by_status_total{status="200"}',
    ):
        wait_until(lambda family=family: len(query(url, f"{family} > 0")) == 2, family)
    assert requests.get(f"{cluster.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404


def test_a_burst_of_failed_sign_ins_through_the_balancer_fires_the_lockout_alert(watched):
    cluster, url = watched
    # Every server's counters scraped at zero first, so that increase() sees the burst whole.
    wait_until(lambda: len(query(url, "shopdemo_lockouts_total")) == 2, "the lockout counters of both servers")
    spike = rule(url, "ShopdemoLockoutSpike")
    assert query(url, spike["query"]) == []  # quiet before
    for username in USERNAMES:  # the balancer sends each request to the next server
        assert fail_sign_ins(cluster.url, username, FAILURES_EACH) <= {200, 429}

    # Both servers' counts (round-robin: each served some) add up to the audit trail's.
    recorded = AuditEvent.objects.filter(event="authn_login_fail").count()
    assert recorded >= len(USERNAMES) * (FAILURES_EACH - 1)
    failures = 'shopdemo_auth_events_total{event="authn_login_fail"}'
    wait_until(lambda: sum(by_instance(query(url, failures)).values()) == recorded, "scrapes of the burst")
    assert all(by_instance(query(url, failures)).values())
    wait_until(lambda: query(url, spike["query"]), "the lockout-spike expression")
    [result] = query(url, spike["query"])
    assert float(result["value"][1]) >= len(USERNAMES)

    def firing():
        alerts = requests.get(f"{url}/api/v1/alerts", timeout=WAIT_SECONDS).json()["data"]["alerts"]
        return [alert["labels"]["alertname"] for alert in alerts if alert["state"] == "firing"]

    wait_until(lambda: "ShopdemoLockoutSpike" in firing(), "the lockout alert")
    assert "ShopdemoCredentialStuffing" not in firing()  # one address: the lockout's business
