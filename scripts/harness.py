"""The processes of a shopdemo site on loopback: gunicorn, db_worker, Redis, HAProxy, Prometheus, PostgreSQL.

One harness for `make cluster` (`python -m scripts.harness cluster`), the cluster tests
(tests/servers.py adds the test database) and the bench. It imports neither Django nor
pytest: every function takes the environment of the process it starts. Every wait is
bounded; stop() ends what start_*() began.
"""

import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 30
QUIET = subprocess.DEVNULL  # the tests' and the bench's default; None lets a process print to the terminal


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until(check, what: str, process: subprocess.Popen | None = None):
    """Poll `check` until it is true; connection errors (OSError, requests' too) count as not yet.

    With `process`, its exit ends the wait at once: it will not answer."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline and (process is None or process.poll() is None):
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)  # polling a server process we started, not timing the code under test
    raise AssertionError(
        f"{what} stopped" if process and process.poll() is not None else f"timed out waiting for {what}"
    )


def answers(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status == 200


def start_redis(port: int, output=QUIET) -> subprocess.Popen:
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen([*command, "--loglevel", "warning"], stdout=output)
    wait_until(lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() is None, "redis")
    return process


def redis_keys(port: int) -> int:
    output = subprocess.run(["redis-cli", "-p", str(port), "dbsize"], capture_output=True, text=True).stdout
    return int(output.strip() or 0)


def start_gunicorn(port: int, env: dict, output=QUIET, workers=2, threads=4) -> tuple[subprocess.Popen, str]:
    """Start the site under gunicorn, as `make serve` does; return it and its URL once /healthz answers."""
    command = [sys.executable, "-m", "gunicorn", "shopdemo.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--threads", str(threads)]
    # Its own process group, so that kill() can end the master and its workers at one stroke.
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers(f"{url}/healthz"), "gunicorn", process)
    except BaseException:
        stop(process)
        raise
    return process, url


def start_worker(env: dict, *args, output=QUIET) -> subprocess.Popen:
    """Start `manage.py db_worker`, the process that sends the queued mail."""
    command = [sys.executable, "manage.py", "db_worker", "--no-reload", *args]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output, start_new_session=True)


def start_haproxy(home: Path, ports: dict, output=QUIET) -> subprocess.Popen:
    """HAProxy with scripts/haproxy.cfg in front of ports a and b; with ports["stats"], a stats socket too."""
    config = (ROOT / "scripts" / "haproxy.cfg").read_text()
    if "stats" in ports:  # what the tests add, to see what the health checks decided
        stats = f"global\n    stats socket ipv4@127.0.0.1:{ports['stats']} level admin\n"
        config = config.replace("global\n", stats, 1)
    (home / "haproxy.cfg").write_text(config)
    errorfile = home / "503.http"
    subprocess.run(["bash", str(ROOT / "scripts" / "haproxy-errorfile.sh"), str(errorfile)], check=True)
    env = {
        **os.environ,
        "CLUSTER_PORT": str(ports["balancer"]),
        "APP_A_PORT": str(ports["a"]),
        "APP_B_PORT": str(ports["b"]),
        "HAPROXY_ERRORFILE": str(errorfile),
    }
    return subprocess.Popen(["haproxy", "-db", "-f", str(home / "haproxy.cfg")], env=env, stdout=output, stderr=output)


def start_prometheus(
    targets: list[str], token: str, port: int | None = None, interval="1s", output=QUIET, home: Path | None = None
) -> tuple[subprocess.Popen, str]:
    """Start Prometheus scraping `targets`' /metrics with deploy/prometheus/alerts.yml loaded.

    The scrape config of docs/operations.md, with the token in a file only this user reads;
    its data lives in `home` (a throwaway directory by default). Returns the process and its URL.
    """
    port = port or free_port()
    home = home or Path(tempfile.mkdtemp(prefix="shopdemo-prometheus-"))
    (home / "token").touch(mode=0o600)
    (home / "token").write_text(token)
    (home / "prometheus.yml").write_text(
        f"global: {{scrape_interval: {interval}, evaluation_interval: {interval}}}\n"
        f"rule_files: [{ROOT / 'deploy' / 'prometheus' / 'alerts.yml'}]\n"
        "scrape_configs:\n"
        "  - job_name: shopdemo\n"
        f"    authorization: {{credentials_file: {home / 'token'}}}\n"
        f"    static_configs: [{{targets: [{', '.join(targets)}]}}]\n"
    )
    command = ["prometheus", f"--config.file={home / 'prometheus.yml'}", f"--storage.tsdb.path={home / 'data'}"]
    command += [f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
    process = subprocess.Popen(command, stdout=output, stderr=output)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: answers(f"{url}/-/ready"), "prometheus")
    return process, url


def pg_ctl(action: str):
    """Stop or start the PostgreSQL cluster of scripts/with-postgres.sh (which exports where it is)."""
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
    """HAProxy in front of app servers a and b (scripts/haproxy.cfg), each with a db_worker, on one Redis.

    `base` is every server's environment (the database, the signing key), `env` what the
    cluster adds (cached sessions on its Redis, one trusted proxy).
    """

    url: str  # the balancer
    ports: dict
    base: dict
    env: dict
    output: int | None = QUIET
    worker_args: tuple = ()
    home: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="shopdemo-cluster-")))
    processes: dict = field(default_factory=dict)

    def app_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start_app(self, name: str, **options) -> None:
        self.processes[name], _ = start_gunicorn(self.ports[name], {**self.base, **self.env}, self.output, **options)

    def start_worker(self, name: str) -> None:
        """Start server `name`'s db_worker, or start it again if it stopped (as systemd's Restart=always)."""
        worker = self.processes.get(f"worker {name}")
        if worker is None or worker.poll() is not None:
            args = [*self.worker_args, "--worker-id", f"server-{self.ports[name]}"]
            self.processes[f"worker {name}"] = start_worker({**self.base, **self.env}, *args, output=self.output)

    def balancer_sees(self, name: str, state: str) -> bool:
        """Whether HAProxy's health checks have marked server `name` UP or DOWN (needs ports["stats"])."""
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
        shutil.rmtree(self.home, ignore_errors=True)


def start_cluster(base: dict, ports: dict | None = None, prepare=None, app_options=None, **options) -> Cluster:
    """Start Redis, app servers a and b (cached sessions, a db_worker each) and HAProxy.

    Ports are free loopback ones (with a stats socket) unless given; `prepare(cluster)` runs
    once Redis is up, before the app servers start (migrations, seeding).
    """
    ports = ports or {name: free_port() for name in ("balancer", "a", "b", "redis", "stats")}
    env = {"SESSION_CACHED": "true", "CACHE_URL": f"redis://127.0.0.1:{ports['redis']}/0", "TRUSTED_PROXY_COUNT": "1"}
    cluster = Cluster(url=f"http://127.0.0.1:{ports['balancer']}", ports=ports, base=base, env=env, **options)
    try:
        cluster.processes["redis"] = start_redis(ports["redis"], cluster.output)
        if prepare:
            prepare(cluster)
        for name in ("a", "b"):
            cluster.start_app(name, **(app_options or {}))
            cluster.start_worker(name)  # one per server: each claims rows with SKIP LOCKED, none twice
        cluster.processes["haproxy"] = start_haproxy(cluster.home, ports, cluster.output)
        if "stats" in ports:
            wait_until(lambda: cluster.balancer_sees("a", "UP") and cluster.balancer_sees("b", "UP"), "haproxy")
        else:
            wait_until(lambda: answers(f"{cluster.url}/healthz"), "the balancer")
    except BaseException:
        cluster.stop()
        raise
    return cluster
