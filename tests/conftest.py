"""Fixtures shared by the whole suite."""

import io
import json
import logging
import signal

import pytest
import redis
from django.conf import settings
from django.core.cache import cache, caches
from django.core.management import call_command
from django.db import connection
from django.test.client import ClientMixin
from django.utils import timezone
from django_tasks_db.management.commands import db_worker
from pythonjsonlogger.json import JsonFormatter

from accounts.sessions import same_site
from tests.factories import PASSWORD, ProductFactory, UserFactory
from tests.servers import SmtpSink, free_port, start_gunicorn, start_redis, start_worker, stop

# The session cookie's name with HTTPS=false, as the tests run (the contract's `sessionid`).
SESSION_COOKIE = "sessionid"


def pytest_collection_modifyitems(config, items):
    # Some behaviour (row locks under real concurrency) only exists on PostgreSQL;
    # `make test-postgres` runs those tests, SQLite runs skip them with a reason.
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: run `make test-postgres`")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def user(db):
    return UserFactory(username="alice")


@pytest.fixture
def product(db):
    return ProductFactory(name="Basalt Mug", slug="basalt-mug", price="12.50", stock=50)


def sign_in(client, username="alice", password=PASSWORD, *, remember=False, next_url=None, **headers):
    """Sign in through the real form (axes, the audit trail and the cart merge run); return the response."""
    data = {"username": username, "password": password}
    if remember:
        data["remember_me"] = "on"
    if next_url:
        data["next"] = next_url
    return client.post("/accounts/login/", data, **headers)


def confirm_it_is_me(client, password=PASSWORD, **extra):
    """Re-authenticate through the real form: factor and address changes ask for it every time."""
    response = client.post("/accounts/reauth/", {"password": password, "next": "/accounts/", **extra})
    assert response.status_code == 302, "re-authentication refused"
    return response


def asks_for_the_factors(response) -> bool:
    """A critical POST answered by the one re-authentication screen: nothing was done yet."""
    return response.status_code == 200 and 'name="reauth-password"' in response.content.decode()


def selects_of(table, queries) -> list[dict]:
    """The SELECTs among captured `queries` that read `table`."""
    return [q for q in queries if q["sql"].startswith("SELECT") and f'"{table}"' in q["sql"]]


def is_signed_in(client) -> bool:
    """Whether the header of a page says the client is signed in."""
    return "Signed in as" in client.get("/cart/").content.decode()


@pytest.fixture(autouse=True)
def test_logins_set_the_same_site_cookie(monkeypatch):
    """client.force_login() and login() leave the cookies a sign-in response leaves: with the companion."""
    login = ClientMixin._login

    def _login(self, user, backend=None):
        login(self, user, backend)
        key = self.cookies[settings.SESSION_COOKIE_NAME].value
        self.cookies[settings.SESSION_SAME_SITE_COOKIE_NAME] = same_site.value_for(key)

    monkeypatch.setattr(ClientMixin, "_login", _login)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Hashing strength is not under test; PBKDF2's 1M rounds would dominate the suite's time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture(autouse=True)
def mail_at_once(settings):
    # Production queues every mail for db_worker (shopdemo/mail.py); here the immediate backend
    # runs each task as it is enqueued, so a test reads the outbox when the client returns.
    settings.TASKS = IMMEDIATE_TASKS


@pytest.fixture
def mail_queue(settings):
    """The production queue: tasks wait as rows for a db_worker (`worker` runs one here, `db_workers` real ones)."""
    settings.TASKS = DATABASE_TASKS


@pytest.fixture
def worker(mail_queue, monkeypatch):
    """Run what is due in the queue, as `manage.py db_worker --batch` does, here: under the test's clock.

    As Django's test client does for requests, the worker must not close the
    test's connection (on PostgreSQL that would end the test's transaction).
    For workers in processes of their own, see `db_workers`.
    """
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}

    def run() -> None:
        try:
            call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0, stdout=io.StringIO())
        finally:
            for number, handler in handlers.items():  # the worker's own Ctrl-C handling ends with it
                signal.signal(number, handler)

    return run


@pytest.fixture
def smtp_relay():
    """A real SMTP relay (tests/servers.py SmtpSink), not yet up: start() it when the test wants it."""
    sink = SmtpSink()
    yield sink
    sink.stop()


@pytest.fixture
def db_workers():
    """Start real `manage.py db_worker` processes on the test database; they are stopped after the test."""
    started = []

    def start(**env):
        started.append(start_worker(**env))

    yield start
    for process in started:
        stop(process)


@pytest.fixture(autouse=True)
def fresh_cache():
    # Alert throttling lives in the cache: each test starts with none sent.
    cache.clear()
    caches["fragments"].clear()  # nor does any test see pages rendered by another


@pytest.fixture
def audit_log():
    """Capture the audit logger's output through the project's JSON formatter; return a reader."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    options = {key: value for key, value in settings.LOGGING["formatters"]["json"].items() if key != "()"}
    handler.setFormatter(JsonFormatter(**options))
    logger = logging.getLogger("shopdemo.audit")
    logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


@pytest.fixture(scope="session")
def redis_server():
    """A real redis-server on a free loopback port for the run: its port."""
    port = free_port()
    process = start_redis(port)
    yield port
    stop(process)


@pytest.fixture
def redis_cache(redis_server, settings):
    """The default cache on the real Redis, emptied; returns a client of that Redis (redis-py)."""
    redis_cache = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": f"redis://127.0.0.1:{redis_server}/0"}
    # With the cached variant on, its copies follow the default cache, as in shopdemo.settings.
    copies = redis_cache if settings.SESSION_CACHED else settings.CACHES["copies"]
    settings.CACHES = {**settings.CACHES, "default": redis_cache, "copies": copies}
    client = redis.Redis(port=redis_server)
    client.flushdb()
    return client


@pytest.fixture
def cached_variant(settings):
    """SESSION_CACHED=true as shopdemo.settings makes it: the copies' alias on the default cache."""
    settings.SESSION_CACHED = True
    settings.CACHES = {**settings.CACHES, "copies": {**settings.CACHES["default"]}}


@pytest.fixture
def serve():
    """Start gunicorn on the test database (PostgreSQL) with extra environment; stop it afterwards."""
    processes = []

    def _serve(**env) -> str:
        process, url = start_gunicorn(**env)
        processes.append(process)
        return url

    yield _serve
    for process in processes:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def clock(time_machine):
    """The clock, stopped now; tests move it with clock.shift(seconds)."""
    time_machine.move_to(timezone.now(), tick=False)
    return time_machine


@pytest.fixture
def signed_in(client, user, clock):
    """The test client, signed in as alice through the real form (a stopped clock)."""
    sign_in(client, user.username)
    return client
