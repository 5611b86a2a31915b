"""/metrics: Prometheus text behind METRICS_TOKEN, the counters it carries and what moves them."""

import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import requests
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

from accounts.models import Session
from accounts.monitoring import audit
from accounts.monitoring.dashboard import session_counts
from accounts.monitoring.security import mail_notice
from tests.conftest import SESSION_COOKIE, sign_in
from tests.factories import SessionFactory, UserFactory
from tests.servers import WAIT_SECONDS, wait_until

pytestmark = pytest.mark.django_db

TOKEN = "test-metrics-token-4f1c9a"
BEARER = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
FAMILIES = [
    "shopdemo_auth_events",
    "shopdemo_alerts",
    "shopdemo_lockouts",
    "shopdemo_sessions_active",
    "shopdemo_sessions_device_bound",
    "shopdemo_sessions_expired",
    "shopdemo_login_failure_addresses",
    "shopdemo_mail_queue_depth",
    "shopdemo_mail_failed_attempts",
    "django_http_requests_latency_seconds_by_view_method",
    "django_http_responses_total_by_status",
    "django_db_execute",
    "django_db_query_duration_seconds",
]
PURGE_FAMILIES = [
    "shopdemo_purge_last_success_timestamp_seconds",
    "shopdemo_purge_last_duration_seconds",
    "shopdemo_purge_last_removed_rows",
]


@pytest.fixture(autouse=True)
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(text=None) -> dict:
    """The exposition parsed: {family name: {(sample name, labels as sorted tuple): value}}."""
    if text is None:
        response = Client().get("/metrics", **BEARER)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.content.decode()
    return {
        family.name: {(s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}
        for family in text_string_to_metric_families(text)
    }


def value(families, name, sample=None, **labels) -> float:
    return families[name].get((sample or name, tuple(sorted(labels.items()))), 0)


def events_total(event) -> float:
    return value(scrape(), "shopdemo_auth_events", "shopdemo_auth_events_total", event=event)


class TestExposition:
    def test_the_exposition_parses_and_carries_every_family(self):
        families = scrape()
        assert [name for name in FAMILIES if name not in families] == []
        # Every audit event name is there from the start, at its count so far.
        assert {labels[0][1] for _, labels in families["shopdemo_auth_events"]} >= set(audit.EVENTS)

    def test_there_are_no_purge_series_before_the_first_purge(self):
        assert [name for name in PURGE_FAMILIES if name in scrape()] == []

    def test_active_sessions_are_the_dashboards_counts(self):
        alice, bob = UserFactory(), UserFactory()
        SessionFactory.create_batch(3)
        SessionFactory(user=alice, device_key={"kty": "EC"})
        SessionFactory(user=bob)
        SessionFactory(user=bob, expire_date=timezone.now() - timedelta(seconds=1))
        families = scrape()
        assert value(families, "shopdemo_sessions_active", kind="guest") == 3
        assert value(families, "shopdemo_sessions_active", kind="signed_in") == 2
        assert value(families, "shopdemo_sessions_device_bound") == 1
        assert value(families, "shopdemo_sessions_expired") == 1
        counts = session_counts(timezone.now())
        assert (counts.guest, counts.signed_in, counts.device_bound) == (3, 2, 1)

    def test_failing_addresses_are_counted_not_named(self, user):
        for address in ("203.0.113.5", "203.0.113.6", "203.0.113.6"):
            sign_in(Client(), password="wrong", REMOTE_ADDR=address)
        assert value(scrape(), "shopdemo_login_failure_addresses") == 2


class TestWhatMovesTheCounters:
    def test_a_failed_sign_in_raises_authn_login_fail_by_one(self, client, user):
        before = events_total("authn_login_fail")
        sign_in(client, password="wrong")
        assert events_total("authn_login_fail") == before + 1

    def test_a_lockout_moves_the_lockout_counter_its_event_and_its_alert(self, client, user):
        before = scrape()
        for _ in range(5):
            sign_in(client, password="wrong")
        after = scrape()
        assert value(after, "shopdemo_lockouts", "shopdemo_lockouts_total") == (
            value(before, "shopdemo_lockouts", "shopdemo_lockouts_total") + 1
        )
        lock = {"event": "authn_login_lock"}
        assert value(after, "shopdemo_auth_events", "shopdemo_auth_events_total", **lock) == (
            value(before, "shopdemo_auth_events", "shopdemo_auth_events_total", **lock) + 1
        )
        rule = {"rule": "lockout"}
        assert value(after, "shopdemo_alerts", "shopdemo_alerts_total", **rule) == (
            value(before, "shopdemo_alerts", "shopdemo_alerts_total", **rule) + 1
        )

    def test_a_hijack_detection_moves_its_event_and_alert(self, client, user):
        before = scrape()
        sign_in(client, HTTP_USER_AGENT="Firefox/140")
        thief = Client(HTTP_USER_AGENT="curl/8.0")
        thief.cookies[SESSION_COOKIE] = client.cookies[SESSION_COOKIE].value
        assert "ended=hijack" in thief.get("/orders/")["Location"]
        after = scrape()
        hijack = {"event": "session_hijack_suspected"}
        assert value(after, "shopdemo_auth_events", "shopdemo_auth_events_total", **hijack) == (
            value(before, "shopdemo_auth_events", "shopdemo_auth_events_total", **hijack) + 1
        )
        assert value(after, "shopdemo_alerts", "shopdemo_alerts_total", rule="hijack") == (
            value(before, "shopdemo_alerts", "shopdemo_alerts_total", rule="hijack") + 1
        )

    def test_a_purge_sets_its_time_duration_and_rows(self, time_machine):
        finished = datetime(2026, 12, 1, 4, 17, tzinfo=UTC)
        time_machine.move_to(finished, tick=False)
        SessionFactory.create_batch(4, expire_date=timezone.now() - timedelta(days=1))
        call_command("purge_sessions", stdout=StringIO())
        families = scrape()
        assert value(families, "shopdemo_purge_last_success_timestamp_seconds") == finished.timestamp()
        assert value(families, "shopdemo_purge_last_removed_rows", target="expired_sessions") == 4
        assert value(families, "shopdemo_purge_last_removed_rows", target="audit_events") == 0
        assert value(families, "shopdemo_purge_last_duration_seconds") >= 0
        time_machine.move_to(finished + timedelta(hours=1), tick=False)
        call_command("purge_sessions", stdout=StringIO())
        families = scrape()
        assert value(families, "shopdemo_purge_last_success_timestamp_seconds") == finished.timestamp() + 3600
        assert value(families, "shopdemo_purge_last_removed_rows", target="expired_sessions") == 0

    def test_queued_mail_is_the_queues_depth_until_a_worker_sends_it(self, user, worker, mailoutbox):
        assert value(scrape(), "shopdemo_mail_queue_depth") == 0
        mail_notice.enqueue(to=[user.email], subject="Hello", body="A queued mail.")
        mail_notice.enqueue(to=[user.email], subject="Again", body="A second one.")
        assert value(scrape(), "shopdemo_mail_queue_depth") == 2
        worker()
        assert value(scrape(), "shopdemo_mail_queue_depth") == 0 and len(mailoutbox) == 2
        assert value(scrape(), "shopdemo_mail_failed_attempts") == 0

    def test_the_dashboard_shows_the_same_last_purge(self, client, time_machine):
        staff = UserFactory(is_staff=True, is_superuser=True)
        time_machine.move_to(datetime(2026, 12, 1, 4, 17, tzinfo=UTC), tick=False)
        SessionFactory.create_batch(2, expire_date=timezone.now() - timedelta(days=1))
        call_command("purge_sessions", stdout=StringIO())
        client.force_login(staff)
        page = client.get("/admin/dashboard/").content.decode()
        assert "The last purge finished at" in page and "2026-12-01 04:17:00 UTC" in page
        assert "removed 2 expired sessions" in page


class TestAccess:
    def test_under_https_a_scrape_of_an_app_server_is_answered_not_redirected(self, settings):
        settings.SECURE_SSL_REDIRECT = True  # as HTTPS=true sets it
        assert Client().get("/", HTTP_HOST="localhost").status_code == 301
        assert Client().get("/metrics", HTTP_HOST="localhost", **BEARER).status_code == 200
        assert Client().get("/metrics", HTTP_HOST="localhost").status_code == 404

    def test_scraping_creates_no_session(self):
        response = Client().get("/metrics", **BEARER)
        assert response.status_code == 200 and SESSION_COOKIE not in response.cookies
        assert not Session.objects.exists()

    def test_no_shop_page_links_to_it(self, client, product):
        for page in ("/", f"/products/{product.slug}/", "/cart/", "/accounts/login/"):
            assert "/metrics" not in client.get(page).content.decode(), page


def worker_counts(directory, event) -> list[float]:
    """authn_login_fail as each gunicorn worker's own file holds it (one file per process)."""
    counts = []
    for path in sorted(directory.glob("counter_*.db")):
        alone = directory.parent / f"alone-{path.stem}"
        alone.mkdir(exist_ok=True)
        shutil.copy(path, alone / path.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        counts.append(registry.get_sample_value("shopdemo_auth_events_total", {"event": event}) or 0)
    return counts


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_gunicorn_workers_counts_add_up_in_every_scrape(serve, tmp_path):
    directory = tmp_path / "metrics"
    directory.mkdir()
    url = serve(METRICS_TOKEN=TOKEN, PROMETHEUS_MULTIPROC_DIR=str(directory))

    def fail_sign_in(n):
        browser = requests.Session()
        browser.get(f"{url}/accounts/login/", timeout=WAIT_SECONDS)
        data = {"username": f"ghost{n}", "password": "wrong", "csrfmiddlewaretoken": browser.cookies["csrftoken"]}
        return browser.post(f"{url}/accounts/login/", data, timeout=WAIT_SECONDS).status_code

    sent = 0

    def both_workers_counted():
        nonlocal sent
        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(fail_sign_in, range(sent, sent + 8))) == {200}
        sent += 8
        return len([count for count in worker_counts(directory, "authn_login_fail") if count]) == 2

    wait_until(both_workers_counted, "failed sign-ins served by both workers")
    assert sum(worker_counts(directory, "authn_login_fail")) == sent
    for _ in range(6):  # whichever worker answers the scrape
        text = requests.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=WAIT_SECONDS).text
        families = scrape(text)
        assert value(families, "shopdemo_auth_events", "shopdemo_auth_events_total", event="authn_login_fail") == sent
