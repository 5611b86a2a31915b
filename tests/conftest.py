"""Fixtures shared by the whole suite."""

import io
import json
import logging

import pytest
from django.conf import settings
from django.core.cache import cache, caches
from django.db import connection
from django.test.client import ClientMixin
from django.utils import timezone
from pythonjsonlogger.json import JsonFormatter

from accounts.sessions import same_site
from shopdemo import mail
from tests.factories import PASSWORD, ProductFactory, UserFactory
from tests.servers import start_gunicorn

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


@pytest.fixture(autouse=True)
def mail_in_the_requests_thread(monkeypatch):
    # Production sends held-back mail from a background thread (shopdemo/mail.py); here it goes
    # as the response closes, so a test reads the outbox when the client returns.
    # tests/test_mail.py covers the thread itself.
    monkeypatch.setattr(mail, "_submit", mail._run_logged)


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
