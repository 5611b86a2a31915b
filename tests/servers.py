"""Real servers for the tests that need them: gunicorn and db_worker on the test database, redis-server, SMTP.

Loopback only; every wait is bounded.
"""

import email
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from aiosmtpd.controller import Controller
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from tests.factories import PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, what: str):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (requests.ConnectionError, OSError):
            pass
        time.sleep(0.1)  # polling a server process we started, not timing the code under test
    raise AssertionError(f"timed out waiting for {what}")


def start_redis(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    wait_until(lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() is None, "redis")
    return process


def redis_keys(port: int) -> int:
    output = subprocess.run(["redis-cli", "-p", str(port), "dbsize"], capture_output=True, text=True).stdout
    return int(output.strip() or 0)


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
    port = port or free_port()
    command = [sys.executable, "-m", "gunicorn", "shopdemo.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "2", "--threads", "4"]
    # Its own process group, so that kill() can end the master and its workers at one stroke.
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=server_environment(**env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: requests.get(f"{url}/healthz", timeout=2).ok, "gunicorn")
    return process, url


def start_worker(*args, **env) -> subprocess.Popen:
    """Start `manage.py db_worker` on the test database, as make serve's operator would beside gunicorn."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", "0.2", *args],
        cwd=ROOT,
        env=server_environment(**env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


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


def pg_ctl(action: str):
    """Stop or start the test cluster (exported by scripts/with-postgres.sh)."""
    pg_bin, data, options = (os.environ[name] for name in ("SHOPDEMO_PG_BIN", "SHOPDEMO_PG_DATA", "SHOPDEMO_PG_OPTS"))
    command = [f"{pg_bin}/pg_ctl", "-D", data, "-l", f"{data}/postgres.log", "-w", "-t", "60"]
    command += ["-m", "fast", "stop"] if action == "stop" else ["-o", options, "start"]
    if os.geteuid() == 0:  # the cluster belongs to the postgres user
        command = ["runuser", "-u", "postgres", "--", "sh", "-c", f"cd / && {shlex.join(command)}"]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def stop(process: subprocess.Popen) -> None:
    """Stop a server process we started: SIGTERM (a graceful stop), then SIGKILL if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def kill(process: subprocess.Popen) -> None:
    """SIGKILL a gunicorn and its workers, as a crash or the OOM killer would: nothing finishes."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@dataclass
class Cluster:
    """HAProxy in front of app servers a and b (scripts/haproxy.cfg), Redis, the test database."""

    url: str  # the balancer
    ports: dict
    env: dict
    processes: dict = field(default_factory=dict)

    def app_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start_app(self, name: str) -> None:
        self.processes[name], _ = start_gunicorn(self.ports[name], **self.env)

    def start_worker(self, name: str) -> None:
        """Start server `name`'s db_worker, or start it again if it stopped (as systemd's Restart=always)."""
        worker = self.processes.get(f"worker {name}")
        if worker is None or worker.poll() is not None:
            self.processes[f"worker {name}"] = start_worker(**self.env)

    def balancer_sees(self, name: str, state: str) -> bool:
        """Whether HAProxy's health checks have marked server `name` UP or DOWN."""
        with socket.create_connection(("127.0.0.1", self.ports["stats"]), timeout=2) as sock:
            sock.sendall(b"show servers state apps\n")
            answer = b"".join(iter(lambda: sock.recv(65536), b"")).decode()
        # Columns: ... srv_name srv_addr srv_op_state (2 = running, 0 = stopped) ...
        rows = [line.split() for line in answer.splitlines() if line[:1].isdigit() and len(line.split()) > 5]
        op_state = next(row[5] for row in rows if row[3] == name)
        return op_state == {"UP": "2", "DOWN": "0"}[state]

    def stop(self) -> None:
        for process in reversed(self.processes.values()):  # the balancer first, Redis last
            stop(process)


def start_cluster(**env) -> Cluster:
    """Start Redis, app servers a and b (cached sessions, a db_worker each) and HAProxy on free loopback ports."""
    ports = {name: free_port() for name in ("balancer", "a", "b", "redis", "stats")}
    cluster = Cluster(
        url=f"http://127.0.0.1:{ports['balancer']}",
        ports=ports,
        env={
            "SESSION_CACHED": "true",
            "CACHE_URL": f"redis://127.0.0.1:{ports['redis']}/0",
            "TRUSTED_PROXY_COUNT": "1",
            **env,
        },
    )
    try:
        cluster.processes["redis"] = start_redis(ports["redis"])
        for name in ("a", "b"):
            cluster.start_app(name)
            cluster.start_worker(name)  # one per server, as make cluster
        # The tests' own addition: a stats socket on loopback, to see what the health checks decided.
        stats = f"global\n    stats socket ipv4@127.0.0.1:{ports['stats']} level admin\n"
        config = Path(tempfile.mkdtemp(prefix="shopdemo-haproxy-")) / "haproxy.cfg"
        config.write_text((ROOT / "scripts" / "haproxy.cfg").read_text().replace("global\n", stats, 1))
        errorfile = config.with_name("503.http")
        subprocess.run(["bash", str(ROOT / "scripts" / "haproxy-errorfile.sh"), str(errorfile)], check=True)
        cluster.processes["haproxy"] = subprocess.Popen(
            ["haproxy", "-db", "-f", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={
                **os.environ,
                "CLUSTER_PORT": str(ports["balancer"]),
                "APP_A_PORT": str(ports["a"]),
                "APP_B_PORT": str(ports["b"]),
                "HAPROXY_ERRORFILE": str(errorfile),
            },
        )
        wait_until(lambda: cluster.balancer_sees("a", "UP") and cluster.balancer_sees("b", "UP"), "haproxy")
    except BaseException:
        cluster.stop()
        raise
    return cluster


def start_prometheus(targets: list[str], token: str, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """Start Prometheus scraping `targets`' /metrics every second with deploy/prometheus/alerts.yml loaded.

    The same scrape as `make cluster` (scripts/cluster.sh), faster; its data lives in a
    throwaway directory. Returns the process and its URL.
    """
    port = port or free_port()
    home = Path(tempfile.mkdtemp(prefix="shopdemo-prometheus-"))
    (home / "token").write_text(token)
    (home / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: [{ROOT / 'deploy' / 'prometheus' / 'alerts.yml'}]\n"
        "scrape_configs:\n"
        "  - job_name: shopdemo\n"
        f"    authorization: {{credentials_file: {home / 'token'}}}\n"
        f"    static_configs: [{{targets: [{', '.join(targets)}]}}]\n"
    )
    process = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={home / 'prometheus.yml'}",
            f"--storage.tsdb.path={home / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: requests.get(f"{url}/-/ready", timeout=2).ok, "prometheus")
    return process, url


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
