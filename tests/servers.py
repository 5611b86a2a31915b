"""Real servers for the tests that need them, on the test database: the harness of scripts/harness.py, SMTP.

Loopback only; every wait is bounded.
"""

import email
import os
import subprocess
import sys

import requests
from aiosmtpd.controller import Controller
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from scripts import harness
from scripts.harness import (  # noqa: F401 (the tests' names for the harness)
    ROOT,
    WAIT_SECONDS,
    Cluster,
    free_port,
    kill,
    pg_ctl,
    redis_keys,
    start_prometheus,
    start_redis,
    stop,
    wait_until,
)
from tests.factories import PASSWORD, UserFactory


def server_environment(**env) -> dict:
    """The environment of a server process on the test database, as an operator would run it."""
    db = connection.settings_dict
    return {
        # Operators do not run with the live-server tests' async override.
        **{key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "ENV_FILE": "/dev/null",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        **env,
    }


def start_manage(*args, **env) -> subprocess.Popen:
    """Start `manage.py ARGS` on the test database (as cron would); its output is piped, as text."""
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=server_environment(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def start_gunicorn(port: int | None = None, **env) -> tuple[subprocess.Popen, str]:
    """Start the site under gunicorn on the test database, as `make serve` does; return it and its URL."""
    return harness.start_gunicorn(port or free_port(), server_environment(**env))


def start_worker(*args, **env) -> subprocess.Popen:
    """Start `manage.py db_worker` on the test database, as make serve's operator would beside gunicorn."""
    return harness.start_worker(server_environment(**env), "--interval", "0.2", *args)


def start_cluster(**env) -> Cluster:
    """Start Redis, app servers a and b (cached sessions, a db_worker each) and HAProxy on free loopback ports."""
    return harness.start_cluster(server_environment(**env), worker_args=("--interval", "0.2"))


class SmtpSink:
    """A mail relay on loopback (aiosmtpd, in a thread of the test) that keeps what it is given.

    Its port is fixed at creation, so a test can point EMAIL_URL at it before
    it is up (a relay that is down refuses connections) and start() it later.
    """

    def __init__(self):
        self.port = free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self.messages: list[email.message.Message] = []
        self._controller = None

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def subjects(self) -> list[str]:
        return [message["Subject"] for message in self.messages]

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def queue_idle() -> bool:
    """No mail waiting or being sent."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status IN ('READY', 'RUNNING')")
        return cursor.fetchone()[0] == 0


def server_user(username: str):
    """A user whose password is hashed the way the server (production hashers) can check it."""
    user = UserFactory(username=username)
    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(PASSWORD, hasher.salt())
    user.save(update_fields=["password"])
    return user


def signed_in_browser(url: str, username: str) -> requests.Session:
    """A requests session signed in through the real form, with a fixed user agent."""
    browser = requests.Session()
    browser.headers["User-Agent"] = "ShopdemoTests/1.0"
    browser.get(f"{url}/accounts/login/", timeout=WAIT_SECONDS)
    response = browser.post(
        f"{url}/accounts/login/",
        {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        timeout=WAIT_SECONDS,
    )
    assert "Signed in as" in response.text
    return browser
