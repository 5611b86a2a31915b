"""What every part of the bench shares: its settings, the servers it starts, HTTP set-up with requests."""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from scripts.harness import ROOT, answers, free_port, start_gunicorn, start_haproxy, stop, wait_until

PY = sys.executable
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
PURGE_ROWS = [int(n) for n in os.environ.get("BENCH_PURGE_ROWS", "1000000,3000000").split(",")]
LIVE_ROWS = int(os.environ.get("BENCH_LIVE_ROWS", "1000000"))
WRITER_ROWS = 1000  # live sessions the concurrent writer updates during each purge
CHURN_SECONDS = os.environ.get("BENCH_CHURN_SECONDS", "30")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))  # baseline/shopdemo pairs (ABAB with 2)
WARMUP = 3  # seconds of unrecorded load on each server before the ABAB rounds
SMALL_TABLE = 1000
WORKERS = os.environ.get("WEB_CONCURRENCY", "2")
THREADS = os.environ.get("GUNICORN_THREADS", "1")
WRK_THREADS, WRK_CONNECTIONS = 2, 8
USER_AGENT = "shopdemo-bench/1.0"  # the same as bench/seed.py's: signed-in sessions are bound to it
PASSWORD = os.environ.get("DEMO_PASSWORD") or "bench-only-password-2026"
ADD_GUESTS = 8  # guest sessions the add-to-cart scenario rotates through
MAIL_ORDERS, MAIL_BURST = 400, 500  # bench/mail.py: orders placed with/without their mail; mails queued at once

ENV = {
    **os.environ,
    "ENV_FILE": "/dev/null",  # nothing from a developer's .env
    "DEBUG": "false",
    "HTTPS": "false",
    "LOG_LEVEL": "WARNING",
    "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-secret-key-not-for-production-0123456789",
    "CONN_MAX_AGE": os.environ.get("CONN_MAX_AGE", "60"),
    "DEMO_PASSWORD": PASSWORD,
    # So that no line cap turns add-to-cart or merge requests into 400s mid-run.
    "MAX_LINE_QUANTITY": "1000000",
    # Every guest checkout comes from the loopback address: no 429s mid-run.
    "GUEST_ORDERS_PER_IP_PER_HOUR": "1000000000",
    # whitenoise warns at every start when collectstatic has not run; pages don't need it.
    "PYTHONWARNINGS": "ignore:No directory at",
}
BASELINE_ENV = {**ENV, "DJANGO_SETTINGS_MODULE": "bench.baseline_settings"}
POOL_ENV = {**ENV, "DJANGO_SETTINGS_MODULE": "bench.pool_settings"}
PBKDF2_ENV = {**ENV, "DJANGO_SETTINGS_MODULE": "bench.pbkdf2_settings"}
TMP = Path(tempfile.mkdtemp(prefix="shopdemo-bench-"))


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


# -- subprocesses -----------------------------------------------------------------


def helper(script, *args, env=ENV):
    """Run bench/<script>.py with args; return the JSON it prints."""
    out = subprocess.run(
        [PY, f"bench/{script}.py", *map(str, args)], cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def manage(*args, env=ENV):
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def timed_process(cmd, env=ENV):
    """Run cmd; return (wall seconds, peak RSS in MB of that process, stdout)."""
    out_path = TMP / "timed.out"
    with open(out_path, "w") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage, not all children's
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    return wall, usage.ru_maxrss / 1024, out_path.read_text()


class Server:
    """A gunicorn serving shopdemo (or the baseline) on a free loopback port, its log in TMP."""

    def __init__(self, name, env):
        self.port = free_port()
        self.log_path = TMP / f"{name}.log"
        with open(self.log_path, "w") as server_log:
            try:
                self.proc, self.base = start_gunicorn(self.port, env, server_log, WORKERS, THREADS)
            except AssertionError:
                raise SystemExit(f"{name} server did not become healthy; log:\n{self.log_path.read_text()[-3000:]}")

    def stop(self):
        stop(self.proc)


class Balancer:
    """HAProxy with scripts/haproxy.cfg in front of two servers, on a free loopback port."""

    def __init__(self, a, b, name="haproxy"):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = TMP / f"{name}.log"
        home = TMP / name
        home.mkdir()
        with open(self.log_path, "w") as out:
            self.proc = start_haproxy(home, {"balancer": self.port, "a": a.port, "b": b.port}, out)
        try:
            wait_until(lambda: answers(f"{self.base}/healthz"), "haproxy", self.proc)
        except AssertionError:
            self.stop()
            raise SystemExit("haproxy did not answer /healthz")

    def stop(self):
        stop(self.proc)


# -- HTTP set-up with requests --------------------------------------------------------


def browser():
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


def sign_in(server, username):
    """Sign in through the real form; return the cookies a browser would then send."""
    b = browser()
    b.get(server.base + "/accounts/login/")
    r = b.post(
        server.base + "/accounts/login/",
        data={"username": username, "password": PASSWORD},
        headers={"X-CSRFToken": b.cookies["csrftoken"]},
        allow_redirects=False,
    )
    if r.status_code != 302 or "sessionid" not in b.cookies:
        raise SystemExit(f"sign-in as {username} failed: {r.status_code}")
    return b.cookies.get_dict()  # the session cookie, its Strict companion and the CSRF token


def signed_in(server, cookies):
    r = requests.get(server.base + "/", cookies=cookies, headers={"User-Agent": USER_AGENT}, allow_redirects=False)
    return r.status_code == 200 and "Signed in as" in r.text


def cookie_header(cookies):
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def get(path, cookies=None):
    headers = {"User-Agent": USER_AGENT}
    if cookies:
        headers["Cookie"] = cookie_header(cookies)
    return ("GET", path, headers, None)


def post(path, cookies, body):
    return (
        "POST",
        path,
        {
            "User-Agent": USER_AGENT,
            "Cookie": cookie_header(cookies),
            "X-CSRFToken": cookies["csrftoken"],
            "Content-Type": "application/x-www-form-urlencoded",
        },
        body,
    )
