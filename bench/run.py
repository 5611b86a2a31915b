"""`make bench`: shopdemo under gunicorn + wrk on PostgreSQL, against Django's stock sessions.

Run as `bash scripts/with-postgres.sh .venv/bin/python bench/run.py` (DATABASE_URL must name
a throwaway PostgreSQL database: the run fills and empties its session table). Steps:

1. migrate, seed the demo catalog and the bench data (bench/seed.py), start two gunicorns on
   free loopback ports: shopdemo, and the baseline (bench/baseline_settings.py: Django's stock
   `db` session engine and SessionMiddleware instead of the project's);
2. wrk each scenario (-t2 -c8 -d$BENCH_SECONDS s, generated Lua that rotates through the
   prepared requests and counts status codes); the signed-in catalog runs baseline/shopdemo
   alternately, BENCH_ROUNDS pairs (ABAB) after a 3 s warm-up of each;
3. queries and session writes per request, in-process (bench/probe.py);
4. signed-in catalog latency with 1,000 live session rows, then $BENCH_LIVE_ROWS, then 1,000 again;
5. purge of each of $BENCH_PURGE_ROWS expired rows: purge_sessions against Django's clearsessions,
   while a writer updates live sessions;
6. the session table's churn for $BENCH_CHURN_SECONDS s with PostgreSQL's autovacuum thresholds,
   then with the project's (bench/churn.py);
7. print the tables and write them to bench/results.md.

Environment: BENCH_SECONDS (10), BENCH_PURGE_ROWS (1000000,3000000), BENCH_LIVE_ROWS (1000000),
BENCH_CHURN_SECONDS (30), BENCH_ROUNDS (2: ABAB), WEB_CONCURRENCY (2 workers), GUNICORN_THREADS (1: sync workers).
The mail queue's rows come from bench/mail.py (enqueue cost in process, one db_worker's throughput).
"""

import datetime
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
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


def wait_healthy(base: str, proc, *, seconds: int) -> bool:
    """Poll `base`/healthz until it answers 200 (True), the process exits or `seconds` pass (False)."""
    deadline = time.time() + seconds
    while time.time() < deadline and proc.poll() is None:
        try:
            if requests.get(base + "/healthz", timeout=2).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.2)
    return False


class Server:
    """A gunicorn serving shopdemo (or the baseline) on a free loopback port."""

    def __init__(self, name, env):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = TMP / f"{name}.log"
        with open(self.log_path, "w") as server_log:
            self.proc = subprocess.Popen(
                [
                    GUNICORN,
                    "shopdemo.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    WORKERS,
                    "--threads",
                    THREADS,
                    "--log-level",
                    "warning",
                ],
                cwd=ROOT,
                env=env,
                stdout=server_log,
                stderr=subprocess.STDOUT,
            )
        if not wait_healthy(self.base, self.proc, seconds=60):
            self.stop()
            raise SystemExit(f"{name} server did not become healthy; log:\n{self.log_path.read_text()[-3000:]}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


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
    return {"csrftoken": b.cookies["csrftoken"], "sessionid": b.cookies["sessionid"]}


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


# -- wrk ----------------------------------------------------------------------------

LUA = """
-- Generated by bench/run.py: thread t sends requests t, t+T, t+2T, ... of the list
-- (so no two threads share a one-use request) and counts response statuses.
local reqs = %(requests)s
local T = %(threads)d
local counter, threads = 0, {}
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  idx, codes, reused = tid, {}, 0
end
function request()
  if idx >= #reqs then reused = reused + 1 end
  local r = reqs[(idx %% #reqs) + 1]
  idx = idx + T
  return wrk.format(r[1], r[2], r[3], r[4])
end
function response(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
end
function done(summary, latency, requests)
  local total, used = {}, 0
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("codes")) do total[k] = (total[k] or 0) + v end
    used = used + t:get("reused")
  end
  local parts = {}
  for k, v in pairs(total) do table.insert(parts, k .. "=" .. v) end
  table.sort(parts)
  io.write("BENCH_STATUS " .. table.concat(parts, " ") .. "\\n")
  io.write("BENCH_REUSED " .. used .. "\\n")
end
"""


def lua_value(value):
    if value is None:
        return "nil"
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "{" + ", ".join(lua_value(v) for v in value) + "}"
    return json.dumps(value)  # ASCII strings: JSON and Lua escapes agree


def to_ms(number, unit):
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(server, requests_list, label, one_use=False, seconds=SECONDS):
    """Load `server` with the rotating `requests_list`; return req/s, p50/p99 (ms) and statuses."""
    script = TMP / f"{re.sub(r'[^a-z0-9]+', '-', label.lower())}.lua"
    script.write_text(LUA % {"requests": lua_value(requests_list), "threads": WRK_THREADS})
    log(f"wrk {label} ({seconds}s)")
    out = subprocess.run(
        [
            "wrk",
            f"-t{WRK_THREADS}",
            f"-c{WRK_CONNECTIONS}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "--latency",
            "-s",
            str(script),
            server.base + "/",
        ],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.MULTILINE))
    result = {"label": label, "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for pct in ("50", "99"):
        number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", latency[pct]).groups()
        result[f"p{pct}"] = to_ms(number, unit)
    result["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non_2xx_3xx"] = int(bad.group(1)) if bad else 0
    errors = re.search(r"Socket errors: (.*)", out)
    result["socket_errors"] = errors.group(1).strip() if errors else ""
    result["statuses"] = re.search(r"BENCH_STATUS (.*)", out).group(1).strip()
    # Only a list of one-use requests (the merge's guest sessions) can run out.
    result["reused"] = int(re.search(r"BENCH_REUSED (\d+)", out).group(1)) if one_use else 0
    log(
        f"  {result['rps']:.0f} req/s, p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms, "
        f"statuses {result['statuses']}"
    )
    return result


def mean_run(runs, label):
    """Combine several wrk runs of one scenario: mean req/s and latencies, summed statuses."""
    combined = {"label": label, "rounds": [r["rps"] for r in runs]}
    for key in ("rps", "p50", "p99"):
        combined[key] = sum(r[key] for r in runs) / len(runs)
    combined["non_2xx_3xx"] = sum(r["non_2xx_3xx"] for r in runs)
    combined["statuses"] = " + ".join(r["statuses"] for r in runs)
    combined["socket_errors"] = "; ".join(r["socket_errors"] for r in runs if r["socket_errors"])
    combined["reused"] = sum(r["reused"] for r in runs)
    return combined


# -- the run ----------------------------------------------------------------------------


def machine():
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.*)", cpuinfo)
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": model.group(1).strip() if model else platform.processor() or "unknown",
        "ram_gb": mem_kb / 1024 / 1024,
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def scenarios(shop, base, ids):
    """Run the wrk scenarios; return their results by key."""
    rows = {}
    rows["anon"] = wrk(shop, [get("/")], "anonymous catalog")

    # ABAB: the baseline's stock session and a fresh shopdemo sign-in for each round,
    # after a short unrecorded warm-up of both servers.
    stock_key = helper("seed", "stock-session", "bench_catalog", env=BASELINE_ENV)
    cookies = sign_in(shop, "bench_catalog")
    base_cookies = {"csrftoken": cookies["csrftoken"], "sessionid": stock_key}
    wrk(base, [get("/", base_cookies)], "warm-up baseline", seconds=WARMUP)
    wrk(shop, [get("/", cookies)], "warm-up shopdemo", seconds=WARMUP)
    base_runs, shop_runs = [], []
    for round_no in range(1, ROUNDS + 1):
        cookies = sign_in(shop, "bench_catalog")
        base_cookies = {"csrftoken": cookies["csrftoken"], "sessionid": stock_key}
        for server, jar in ((base, base_cookies), (shop, cookies)):
            if not signed_in(server, jar):
                raise SystemExit(f"the cookie for {server.log_path.stem}'s signed-in catalog signs nobody in")
        base_runs.append(wrk(base, [get("/", base_cookies)], f"baseline signed-in catalog {round_no}"))
        shop_runs.append(wrk(shop, [get("/", cookies)], f"shopdemo signed-in catalog {round_no}"))
        if not signed_in(shop, cookies):
            log("WARNING: the shopdemo session was signed out during the run")
    rows["baseline"] = mean_run(base_runs, "baseline")
    rows["signed_in"] = mean_run(shop_runs, "signed-in")

    helper("seed", "products", "on")
    # Guest add-to-cart: guests whose first add created their session, each add a 302.
    guests = []
    for n in range(ADD_GUESTS):
        b = browser()
        b.get(shop.base + "/")
        r = b.post(
            shop.base + "/cart/add/",
            data={"product": ids["bench_products"][n], "quantity": 1},
            headers={"X-CSRFToken": b.cookies["csrftoken"]},
            allow_redirects=False,
        )
        assert r.status_code == 302 and "sessionid" in b.cookies, r.status_code
        guests.append({"csrftoken": b.cookies["csrftoken"], "sessionid": b.cookies["sessionid"]})
    adds = [post("/cart/add/", g, f"product={p}&quantity=1") for p in ids["bench_products"] for g in guests]
    rows["add"] = wrk(shop, adds, "guest add-to-cart")

    # Guest checkout: every POST a fresh guest session with a 1-line cart (one use each),
    # then the order page of one guest who placed an order.
    count = max(500, 150 * SECONDS)
    log(f"creating {count} guest sessions with 1-line carts")
    token = guests[0]["csrftoken"]
    checkouts = [
        post("/checkout/", {"csrftoken": token, "sessionid": key}, f"email=bench{n}%40example.com&address=")
        for n, key in enumerate(helper("seed", "guests", count, 1))
    ]
    rows["checkout"] = wrk(shop, checkouts, "guest checkout (1-line cart)", one_use=True)
    b = browser()
    b.get(shop.base + "/")
    b.post(
        shop.base + "/cart/add/",
        data={"product": ids["bench_products"][0], "quantity": 1},
        headers={"X-CSRFToken": b.cookies["csrftoken"]},
    )
    placed = b.post(
        shop.base + "/checkout/",
        data={"email": "bench@example.com", "address": ""},
        headers={"X-CSRFToken": b.cookies["csrftoken"]},
        allow_redirects=False,
    )
    assert placed.status_code == 302, placed.status_code
    guest = {"csrftoken": b.cookies["csrftoken"], "sessionid": b.cookies["sessionid"]}
    rows["order_page"] = wrk(shop, [get(placed.headers["Location"], guest)], "guest's order page")

    cart_cookies = sign_in(shop, "bench_cart")
    rows["cart"] = wrk(shop, [get("/cart/", cart_cookies)], "signed-in cart page (20 lines)")

    # Merge: every request a fresh guest session with a 20-line cart (one use each), signing in
    # with Argon2id (shopdemo), then with PBKDF2 (the same settings, PBKDF2 first).
    rows["merge"] = merge_sign_ins(shop, cart_cookies["csrftoken"], "sign-in merging a 20-line guest cart")
    pbkdf2 = Server("pbkdf2", PBKDF2_ENV)
    try:
        sign_in(pbkdf2, "bench_merge")  # rehashes bench_merge's password with PBKDF2 before the run
        rows["merge_pbkdf2"] = merge_sign_ins(pbkdf2, cart_cookies["csrftoken"], "sign-in merging, PBKDF2")
    finally:
        pbkdf2.stop()
    return rows


def merge_sign_ins(server, token, label):
    """wrk sign-ins of bench_merge, each from a fresh guest session holding a 20-line cart."""
    # Password hashing makes a sign-in cost ~0.05-0.5 s of CPU: 30 per second of run is plenty.
    count = max(200, 30 * SECONDS)
    log(f"creating {count} guest sessions with 20-line carts")
    body = f"username=bench_merge&password={requests.utils.quote(PASSWORD)}"
    merges = [
        post("/accounts/login/", {"csrftoken": token, "sessionid": key}, body)
        for key in helper("seed", "guests", count)
    ]
    return wrk(server, merges, label, one_use=True)


class Balancer:
    """HAProxy with scripts/haproxy.cfg in front of two servers, on a free loopback port."""

    def __init__(self, a, b, name="haproxy"):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = TMP / f"{name}.log"
        ports = {"CLUSTER_PORT": str(self.port), "APP_A_PORT": str(a.port), "APP_B_PORT": str(b.port)}
        errorfile = TMP / f"{name}-503.http"
        subprocess.run(["bash", "scripts/haproxy-errorfile.sh", str(errorfile)], cwd=ROOT, check=True)
        ports["HAPROXY_ERRORFILE"] = str(errorfile)
        with open(self.log_path, "w") as out:
            self.proc = subprocess.Popen(
                ["haproxy", "-db", "-f", "scripts/haproxy.cfg"],
                cwd=ROOT,
                env={**os.environ, **ports},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        if not wait_healthy(self.base, self.proc, seconds=30):
            self.stop()
            raise SystemExit("haproxy did not answer /healthz")

    stop = Server.stop


def abab(label, variants, seconds=SECONDS):
    """wrk each (name, server, requests) in turn, ROUNDS times; return mean runs by name."""
    runs = {name: [] for name, _, _ in variants}
    for name, server, reqs in variants:
        wrk(server, reqs, f"warm-up {label} {name}", seconds=WARMUP)
    for round_no in range(1, ROUNDS + 1):
        for name, server, reqs in variants:
            runs[name].append(wrk(server, reqs, f"{label} {name} {round_no}", seconds=seconds))
    return {name: mean_run(r, f"{label} {name}") for name, r in runs.items()}


def scaling(shop, base):
    """Session-bound endpoint, ceiling, two servers through HAProxy, and the connection pool."""
    redis_port = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    servers = []
    # The demo catalog (14 products), the page the other catalog rows measure; on again for the probe.
    helper("seed", "products", "off")
    try:
        cached = Server("cached", {**ENV, "SESSION_CACHED": "true", "CACHE_URL": f"redis://127.0.0.1:{redis_port}/0"})
        servers.append(cached)
        shop_b = Server("shopdemo-b", ENV)
        servers.append(shop_b)
        pool = Server("pool", POOL_ENV)
        servers.append(pool)
        pool_b = Server("pool-b", POOL_ENV)
        servers.append(pool_b)
        balancer = Balancer(shop, shop_b)
        servers.append(balancer)
        pool_balancer = Balancer(pool, pool_b, name="haproxy-pool")
        servers.append(pool_balancer)
        results = {}

        shop_cookies = sign_in(shop, "bench_summary")
        stock = {
            "csrftoken": shop_cookies["csrftoken"],
            "sessionid": helper("seed", "stock-session", "bench_summary", env=BASELINE_ENV),
        }
        cached_cookies = sign_in(cached, "bench_summary")
        for server, jar in ((base, stock), (shop, shop_cookies), (cached, cached_cookies)):
            summary = requests.get(
                server.base + "/cart/summary/", cookies=jar, headers={"User-Agent": USER_AGENT}
            ).json()
            if len(summary["lines"]) != 3:
                raise SystemExit(f"{server.log_path.stem}: /cart/summary/ shows {len(summary['lines'])} lines, not 3")
        results["summary"] = abab(
            "cart summary",
            [
                ("stock", base, [get("/cart/summary/", stock)]),
                ("db", shop, [get("/cart/summary/", shop_cookies)]),
                ("cached", cached, [get("/cart/summary/", cached_cookies)]),
            ],
        )

        catalog = sign_in(shop, "bench_catalog")
        cached_catalog = sign_in(cached, "bench_catalog")
        results["ceiling"] = abab(
            "ceiling",
            [
                ("healthz", shop, [get("/healthz")]),
                ("catalog", shop, [get("/", catalog)]),
                ("catalog_cached", cached, [get("/", cached_catalog)]),
            ],
        )
        results["balancer"] = abab(
            "two servers", [("direct", shop, [get("/", catalog)]), ("haproxy", balancer, [get("/", catalog)])]
        )
        pool_catalog = sign_in(pool, "bench_catalog")
        results["pool"] = abab(
            "connections",
            [
                ("conn_max_age", shop, [get("/", catalog)]),
                ("pool", pool, [get("/", pool_catalog)]),
                ("conn_max_age_two", balancer, [get("/", catalog)]),
                ("pool_two", pool_balancer, [get("/", pool_catalog)]),
            ],
        )
        return results
    finally:
        for server in reversed(servers):
            server.stop()
        redis.terminate()
        redis.wait()
        helper("seed", "products", "on")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def live_rows(shop):
    """Signed-in catalog with a small session table, a large one, and the small one again."""
    runs = []
    for size in (SMALL_TABLE, LIVE_ROWS, SMALL_TABLE):
        if size == SMALL_TABLE:
            helper("seed", "drop-filler")
        missing = size - helper("seed", "count")
        if missing > 0:
            log(f"inserting {missing} live session rows")
            helper("seed", "rows", "live", missing)
        cookies = sign_in(shop, "bench_catalog")
        result = wrk(shop, [get("/", cookies)], f"signed-in catalog, {size:,} live sessions")
        result["rows"] = helper("seed", "count")
        runs.append(result)
    helper("seed", "drop-filler")
    return runs


def purge_with_writer(command):
    """Run `command` (bench/probe.py purge) while a writer updates live sessions; return both sides' figures."""
    samples = TMP / "writer.json"
    writer = subprocess.Popen(
        [PY, "bench/probe.py", "writer", str(samples)], cwd=ROOT, env=ENV, stdout=subprocess.PIPE, text=True
    )
    writer.stdout.readline()  # its keys are loaded: it is writing
    try:
        wall, rss, out = timed_process([PY, "bench/probe.py", "purge", command])
    finally:
        writer.terminate()
        writer.wait(timeout=30)
    result = json.loads(out.strip().splitlines()[-1])
    # The writer's commits while the command ran (not while its Python started).
    waits = sorted(d for t, d in json.loads(samples.read_text()) if result["started"] <= t <= result["ended"])
    result.update(
        process_wall=wall,
        rss_mb=rss,
        writer_commits=len(waits),
        writer_p50=waits[len(waits) // 2] if waits else 0.0,
        writer_p99=waits[int(len(waits) * 0.99)] if waits else 0.0,
        writer_max=waits[-1] if waits else 0.0,
    )
    return result


def purge():
    """purge_sessions against Django's clearsessions, each on fresh expired rows, a writer running beside."""
    helper("seed", "drop-filler")
    helper("seed", "rows", "live", WRITER_ROWS)
    results = {}
    for rows in PURGE_ROWS:
        results[rows] = {}
        for command in ("purge_sessions", "clearsessions"):
            log(f"inserting {rows:,} expired session rows")
            helper("seed", "rows", "expired", rows)
            before = helper("seed", "count")
            result = purge_with_writer(command)
            result["deleted"] = before - helper("seed", "count")
            results[rows][command] = result
            log(
                f"  {command}: {result['wall']:.2f} s, longest DELETE {ms(result['max_statement'])}, "
                f"{result['rss_mb']:.0f} MB, writer p99 {ms(result['writer_p99'])}"
            )
    helper("seed", "drop-filler")
    return results


# -- report -------------------------------------------------------------------------


def notes_for(row, extra=""):
    parts = [f"statuses {row['statuses']}"]
    if row.get("non_2xx_3xx"):
        parts.append(f"**{row['non_2xx_3xx']} non-2xx/3xx**")
    if row.get("socket_errors"):
        parts.append(f"socket errors: {row['socket_errors']}")
    if row.get("reused"):
        parts.append(f"**{row['reused']} requests reused a spent cookie**")
    if extra:
        parts.append(extra)
    return "; ".join(parts)


def md_row(*cells):
    return "| " + " | ".join(str(c) for c in cells) + " |"


def ms(seconds):
    return f"{seconds * 1000:.0f} ms"


def report(info, rows, probe, live, purged, started):
    # Requests: one row per scenario, queries and writes from the in-process probe.
    deletes = {k: v["deletes"] for k, v in probe.items() if v["deletes"]}
    table = [
        md_row("scenario", "req/s", "p50", "p99", "queries/request", "session writes/request", "notes"),
        md_row("---", "---:", "---:", "---:", "---:", "---:", "---"),
    ]

    def line(label, row, key, extra=""):
        extras = [extra] if extra else []
        if key in deletes:
            extras.append(f"session DELETEs/request {deletes[key]:g}")
        if not row["statuses"]:
            extras.insert(0, "**no response completed within the run**")
        queries = f"{probe[key]['queries']:g}" if key in probe else "—"
        writes = f"{probe[key]['writes']:g}" if key in probe else "—"
        table.append(
            md_row(
                label,
                f"{row['rps']:.0f}",
                f"{row['p50']:.1f} ms",
                f"{row['p99']:.1f} ms",
                queries,
                writes,
                notes_for(row, "; ".join(extras)),
            )
        )

    def rounds(key):
        return "mean of rounds " + " / ".join(f"{r:.0f}" for r in rows[key]["rounds"])

    line("anonymous catalog `/`", rows["anon"], "anon_catalog")
    line(
        "guest add-to-cart (POST `/cart/add/`)",
        rows["add"],
        "guest_add",
        f"{ADD_GUESTS} guest sessions × 20 products, rotating",
    )
    line(
        "guest checkout (POST `/checkout/`, 1-line cart)",
        rows["checkout"],
        "guest_checkout",
        "a fresh guest session per request: the order, its stock update, its audit row and mail",
    )
    line("guest's order page `/orders/<number>/`", rows["order_page"], "guest_order_page")
    line("signed-in catalog `/`", rows["signed_in"], "signed_in_catalog", rounds("signed_in"))
    line("baseline: signed-in catalog, stock `db` engine", rows["baseline"], "baseline_catalog", rounds("baseline"))
    line("signed-in cart page, 20 lines", rows["cart"], "cart_page")
    line(
        "sign-in with a 20-line guest cart (merge)",
        rows["merge"],
        "merge_sign_in",
        "a fresh guest session per request; Argon2id (m = 19 MiB, t = 2, p = 1) password hashing dominates",
    )
    line(
        "the same sign-in with PBKDF2 (bench/pbkdf2_settings.py)",
        rows["merge_pbkdf2"],
        "merge_pbkdf2",
        "PBKDF2-SHA256, Django 5.2's 1,000,000 iterations: the hasher before Argon2id",
    )

    ratio = rows["signed_in"]["rps"] / rows["baseline"]["rps"]
    per_round = [s / b for s, b in zip(rows["signed_in"]["rounds"], rows["baseline"]["rounds"], strict=True)]
    ratio_line = (
        f"**shopdemo / baseline, signed-in catalog: {ratio:.3f}** (mean req/s; per round: "
        f"{', '.join(f'{r:.3f}' for r in per_round)}; rounds alternate, baseline first) — "
        f"{'meets' if ratio >= 0.90 else 'misses'} the ≥ 0.90 target."
    )

    # Latency against the size of the session table.
    small = [r for r in live if r["rows"] < LIVE_ROWS]
    big = next(r for r in live if r["rows"] >= LIVE_ROWS)
    small_p50 = sum(r["p50"] for r in small) / len(small)
    small_rps = sum(r["rps"] for r in small) / len(small)
    live_table = [md_row("session rows", "req/s", "p50", "p99", "notes"), md_row("---:", "---:", "---:", "---:", "---")]
    live_table += [
        md_row(f"{r['rows']:,}", f"{r['rps']:.0f}", f"{r['p50']:.1f} ms", f"{r['p99']:.1f} ms", notes_for(r))
        for r in live
    ]
    live_line = (
        f"**{big['rows']:,} rows vs ~{SMALL_TABLE:,}: p50 × {big['p50'] / small_p50:.2f}, "
        f"req/s × {big['rps'] / small_rps:.2f}** (against the mean of the two small-table runs; target: within 10%)."
    )

    # Purging.
    purge_table = [
        md_row(
            "expired rows",
            "command",
            "deleted",
            "wall (command)",
            "wall (process)",
            "peak RSS",
            "longest transaction",
            "DELETEs",
            "writer p50 / p99 / max",
        ),
        md_row("---:", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:"),
    ]
    purge_lines = []
    for rows, by_command in purged.items():
        for command, r in by_command.items():
            purge_table.append(
                md_row(
                    f"{rows:,}",
                    f"`{command}`",
                    f"{r['deleted']:,}",
                    f"{r['wall']:.2f} s",
                    f"{r['process_wall']:.2f} s",
                    f"{r['rss_mb']:.0f} MB",
                    ms(r["max_statement"]),
                    r["statements"],
                    f"{r['writer_p50'] * 1000:.1f} / {r['writer_p99'] * 1000:.1f} / {r['writer_max'] * 1000:.0f} ms "
                    f"({r['writer_commits']} commits)",
                )
            )
        p, c = by_command["purge_sessions"], by_command["clearsessions"]
        purge_lines.append(
            f"- {rows:,} rows: purge_sessions ÷ clearsessions **{p['wall'] / c['wall']:.2f}×** "
            f"(process walls {p['process_wall'] / c['process_wall']:.2f}×; target ≤ 2), longest transaction "
            f"{ms(p['max_statement'])} (≤ 100 ms), writer p99 {p['writer_p99'] * 1000:.1f} ms (≤ 20 ms), "
            f"peak RSS {p['rss_mb']:.0f} MB (≤ 80 MB)"
        )
    purge_notes = [
        "wall (command): from the command's start to its end inside the process; wall (process): with Python "
        "and Django starting. Every DELETE runs in autocommit, so the longest DELETE is the longest transaction. "
        f"The writer updates {WRITER_ROWS:,} live sessions one commit at a time (as record_activity does) while "
        "each command runs; its latencies are those of the commits made during the command.",
    ]

    db = info["db"]
    header = [
        "# shopdemo benchmark results",
        "",
        f"- date: {started:%Y-%m-%d %H:%M} UTC; total run {time.time() - started.timestamp():.0f} s",
        (
            f"- machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram_gb']:.1f} GB RAM, {platform.platform()}; "
            f"load average before the run {info['load']} (other work on the machine skews absolute numbers)"
        ),
        (
            f"- software: Python {platform.python_version()}, PostgreSQL {db['server_version']} on loopback "
            f"(fsync={db['fsync']}, synchronous_commit={db['synchronous_commit']}, "
            f"shared_buffers={db['shared_buffers']})"
        ),
        (
            f"- server: gunicorn, {WORKERS} workers × {THREADS} threads, DEBUG=false, LOG_LEVEL=WARNING, "
            f"CONN_MAX_AGE={ENV['CONN_MAX_AGE']}, MAX_LINE_QUANTITY={ENV['MAX_LINE_QUANTITY']}"
        ),
        (
            f"- load: `wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{SECONDS}s --latency` per scenario, on the same "
            "machine as the server and the database"
        ),
        (
            "- queries and session writes per request: Django test Client in-process against the same database, "
            "one warm-up then the mean of 5 requests (bench/probe.py); session writes = INSERT/UPDATE of the "
            "session table; the per-request `SELECT 1` of CONN_HEALTH_CHECKS is not counted"
        ),
    ]
    if db["fsync"] == "off" or db["synchronous_commit"] == "off":
        header.append(
            "- caution: scripts/with-postgres.sh runs PostgreSQL without fsync/synchronous commit, so "
            "writes (session rows, carts, audit) cost less here than on a durable server"
        )
    sections = [
        header,
        ["## Requests", "", *table, "", ratio_line],
        ["## Latency against session-table size", "", *live_table, "", live_line],
        ["## Purging expired sessions", "", *purge_table, "", *purge_lines, "", *purge_notes],
    ]
    return "\n\n".join("\n".join(section) for section in sections) + "\n"


def scaling_report(scaled):
    """The session-bound endpoint, the ceiling, two servers and the pool: req/s and ratios of one run."""

    def rounds(row):
        return " / ".join(f"{r:.0f}" for r in row["rounds"])

    def table(rows):
        lines = [
            md_row("variant", "req/s (mean)", "rounds", "p50", "p99", "notes"),
            md_row("---", "---:", "---", "---:", "---:", "---"),
        ]
        for label, row in rows:
            lines.append(
                md_row(
                    label,
                    f"{row['rps']:.0f}",
                    rounds(row),
                    f"{row['p50']:.1f} ms",
                    f"{row['p99']:.1f} ms",
                    notes_for(row),
                )
            )
        return lines

    def verdict(ratio, target):
        return f"**{ratio:.3f}** ({'meets' if ratio >= target else 'misses'} ≥ {target})"

    s, c, b, p = scaled["summary"], scaled["ceiling"], scaled["balancer"], scaled["pool"]
    sections = [
        [
            "## Session-bound endpoint: `GET /cart/summary/`, signed in, 3-line cart",
            "",
            *table(
                [
                    ("stock `db` engine (baseline)", s["stock"]),
                    ("shopdemo, `db` engine", s["db"]),
                    ("shopdemo cached on Redis", s["cached"]),
                ]
            ),
            "",
            f"- shopdemo `db` ÷ stock: {verdict(s['db']['rps'] / s['stock']['rps'], 0.95)}",
            f"- shopdemo cached ÷ stock: {verdict(s['cached']['rps'] / s['stock']['rps'], 1.3)}",
        ],
        [
            "## The catalog against the ceiling",
            "",
            *table(
                [
                    ("`/healthz` (one SELECT 1, no session)", c["healthz"]),
                    ("signed-in catalog `/`, `db` engine", c["catalog"]),
                    ("signed-in catalog `/`, cached on Redis", c["catalog_cached"]),
                ]
            ),
            "",
            "- signed-in catalog ÷ `/healthz`, `db` engine: "
            f"{verdict(c['catalog']['rps'] / c['healthz']['rps'], 0.20)}",
            "- signed-in catalog ÷ `/healthz`, cached on Redis (the production profile): "
            f"{verdict(c['catalog_cached']['rps'] / c['healthz']['rps'], 0.20)}",
            "- the demo catalog (14 products) for every catalog row, as in the requests table",
            "- for scale, shopdemo `db` `/cart/summary/` ÷ `/healthz`: "
            f"**{s['db']['rps'] / c['healthz']['rps']:.2f}**: a signed-in request with three queries "
            "(session, user, cart lines) and no template at all",
        ],
        [
            "## Two servers through HAProxy, signed-in catalog",
            "",
            *table(
                [
                    ("one server, directly", b["direct"]),
                    ("two servers through HAProxy (scripts/haproxy.cfg)", b["haproxy"]),
                ]
            ),
            "",
            f"- two servers through HAProxy ÷ one directly: **{b['haproxy']['rps'] / b['direct']['rps']:.2f}**. "
            "On 2 cores shared by wrk, both gunicorns, HAProxy and PostgreSQL this measures the balancer's "
            "overhead, not a speed-up: there is no spare core for the second server to use.",
        ],
        [
            "## Connections: Django 5.2's PostgreSQL pool against CONN_MAX_AGE, signed-in catalog",
            "",
            *table(
                [
                    ("`CONN_MAX_AGE=60` (persistent connection per worker)", p["conn_max_age"]),
                    (
                        '`OPTIONS={"pool": {"min_size": 1, "max_size": 2}}`, CONN_MAX_AGE=0 (bench/pool_settings.py)',
                        p["pool"],
                    ),
                    ("two servers through HAProxy, `CONN_MAX_AGE=60`", p["conn_max_age_two"]),
                    ("two servers through HAProxy, the pool", p["pool_two"]),
                ]
            ),
            "",
            f"- pool ÷ CONN_MAX_AGE, one server: **{p['pool']['rps'] / p['conn_max_age']['rps']:.2f}**; "
            f"two servers through HAProxy: **{p['pool_two']['rps'] / p['conn_max_age_two']['rps']:.2f}**",
        ],
    ]
    return "\n" + "\n\n".join("\n".join(section) for section in sections) + "\n"


def churn_report(churned):
    """The session table under activity writes, sign-ins and sign-outs, by autovacuum thresholds."""
    lines = [
        "## Session-table churn and autovacuum",
        "",
        md_row(
            "autovacuum thresholds",
            "steps",
            "table + indexes before → after",
            "most dead rows",
            "autovacuum runs",
            "write p50 / p99",
            "lookup p50 / p99",
        ),
        md_row("---", "---:", "---:", "---:", "---:", "---:", "---:"),
    ]
    for run in churned:
        own = "the project's: " + ", ".join(run["settings"])
        label = "PostgreSQL's defaults" if run["variant"] == "default" else own
        lines.append(
            md_row(
                label,
                f"{run['steps']:,}",
                f"{run['size_before_mb']:.1f} → {run['size_after_mb']:.1f} MB",
                f"{run['most_dead']:,}",
                str(run["autovacuum_runs"]),
                f"{run['write_p50'] * 1000:.2f} / {run['write_p99'] * 1000:.2f} ms",
                f"{run['lookup_p50'] * 1000:.2f} / {run['lookup_p99'] * 1000:.2f} ms",
            )
        )
    default, project = churned
    lines += [
        "",
        f"{default['rows']:,} live rows; each step is an activity write (it moves the indexed expire_date, so it "
        "is never a HOT update) and a lookup by key, one commit each; every tenth step also deletes one row and "
        f"inserts one (a sign-out and a sign-in). autovacuum_naptime is 1 s for both runs. Growth of the table: "
        f"**{default['size_after_mb'] - default['size_before_mb']:.1f} MB** with the defaults, "
        f"**{project['size_after_mb'] - project['size_before_mb']:.1f} MB** with the project's thresholds "
        "(migration accounts/migrations/0005_session_autovacuum.py).",
    ]
    return "\n" + "\n".join(lines) + "\n"


def mail_report(queued):
    """What queuing a mail costs the request, and how fast one db_worker sends."""
    enqueue, worker = queued["enqueue"], queued["worker"]
    with_mail, without = enqueue["with mail p50"], enqueue["without mail p50"]
    lines = [
        "## The mail queue",
        "",
        md_row("measure", "value", "notes"),
        md_row("---", "---:", "---"),
        md_row(
            "order_place with its queued mail, p50",
            f"{with_mail * 1000:.2f} ms",
            f"{enqueue['orders']} orders in process, alternating with the same without the enqueue "
            f"({without * 1000:.2f} ms): the mail's INSERT adds {(with_mail - without) * 1000:.2f} ms, "
            f"{(with_mail / without - 1) * 100:.0f}% of the service's own database work",
        ),
        md_row(
            "one db_worker, a backlog of mails into a local SMTP sink",
            f"{worker['per_second']:.0f} mails/s",
            f"{worker['burst_sent']} mails in {worker['burst_seconds']:.1f} s (`db_worker --batch`)",
        ),
        md_row(
            "commit to receipt, 50 mails/s one by one, p50 / p99",
            f"{ms(worker['delay_p50'])} / {ms(worker['delay_p99'])}",
            f"{worker['trickle_sent']} of {worker['trickle']} mails; an idle worker polls once a second",
        ),
    ]
    return "\n" + "\n".join(lines) + "\n"


def main():
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        raise SystemExit("run through scripts/with-postgres.sh: DATABASE_URL must name a PostgreSQL database")
    started = datetime.datetime.now(datetime.UTC)
    log("migrate and seed")
    manage("migrate", "--noinput")
    manage("seed_demo", "--users")
    ids = helper("seed", "setup")
    helper("seed", "vacuum")
    info = {**machine(), "db": helper("seed", "dbinfo")}

    shop = Server("shopdemo", ENV)
    base = Server("baseline", BASELINE_ENV)
    try:
        rows = scenarios(shop, base, ids)
        scaled = scaling(shop, base)
        log("queries per request (in-process)")
        client_hosts = {"ALLOWED_HOSTS": "127.0.0.1,localhost,testserver"}  # the test Client's host
        probe = helper(
            "probe",
            "queries",
            "anon_catalog",
            "guest_add",
            "guest_checkout",
            "guest_order_page",
            "signed_in_catalog",
            "cart_page",
            "merge_sign_in",
            env={**ENV, **client_hosts},
        )
        helper("seed", "products", "off")
        probe.update(helper("probe", "queries", "baseline_catalog", env={**BASELINE_ENV, **client_hosts}))
        live = live_rows(shop)
    finally:
        shop.stop()
        base.stop()
    purged = purge()
    log(f"session-table churn, {CHURN_SECONDS} s per autovacuum variant")
    churned = [helper("churn", variant, CHURN_SECONDS) for variant in ("default", "project")]
    log("the mail queue: enqueue cost and one worker's throughput")
    queued = {"enqueue": helper("mail", "enqueue", MAIL_ORDERS), "worker": helper("mail", "worker", MAIL_BURST)}

    text = report(info, rows, probe, live, purged, started) + scaling_report(scaled) + churn_report(churned)
    text += mail_report(queued)
    (ROOT / "bench" / "results.md").write_text(text)
    print(text)
    log(f"written to bench/results.md; logs and Lua scripts in {TMP}")


if __name__ == "__main__":
    main()
