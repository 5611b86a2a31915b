"""In-process measurements against the benchmark database (run by bench/run.py).

    python bench/probe.py queries SCENARIO...  queries and session writes per request
    python bench/probe.py purge COMMAND        purge_sessions or clearsessions, each DELETE timed
    python bench/probe.py writer PATH          live-session UPDATEs until SIGTERM, each commit timed

`queries` drives Django's test Client through the whole middleware stack and counts,
with CaptureQueriesContext, every query and every INSERT/UPDATE of the session table
(accounts_session, or django_session under bench.baseline_settings). Each scenario
makes one warm-up request, then averages over REPEAT requests. Connection health checks
(CONN_HEALTH_CHECKS) run outside Django's query logging and are not counted.
BENCH_SQL=1 prints each captured statement to stderr.
Each command prints one JSON object on stdout.
"""

import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopdemo.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench import seed  # noqa: E402

REPEAT = 5


def _session_table():
    return "django_session" if settings.SESSION_ENGINE == "django.contrib.sessions.backends.db" else "accounts_session"


def _measure(send, repeat=REPEAT):
    """Average queries, session writes and session deletes over `repeat` calls of `send(i)`."""
    table = _session_table()
    queries = writes = deletes = 0
    statuses = set()
    for i in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            statuses.add(send(i).status_code)
        for q in ctx.captured_queries:
            if os.environ.get("BENCH_SQL"):  # show what each request ran
                print(f"  [{i}] {q['time']}s {q['sql'][:300]}", file=sys.stderr)
            sql = q["sql"].lstrip().upper()
            if f'"{table.upper()}"' in sql.split("WHERE")[0]:
                writes += sql.startswith(("INSERT", "UPDATE"))
                deletes += sql.startswith("DELETE")
        queries += len(ctx.captured_queries)
    return {
        "queries": queries / repeat,
        "writes": writes / repeat,
        "deletes": deletes / repeat,
        "statuses": sorted(statuses),
    }


def _signed_in_client(username):
    client = Client(HTTP_USER_AGENT=seed.USER_AGENT)
    response = client.post("/accounts/login/", {"username": username, "password": os.environ["DEMO_PASSWORD"]})
    assert response.status_code == 302, f"sign-in as {username} failed: {response.status_code}"
    return client


def anon_catalog():
    client = Client(HTTP_USER_AGENT=seed.USER_AGENT)
    client.get("/")
    return _measure(lambda i: client.get("/"))


def guest_add():
    products = [p.pk for p in seed.bench_products()]
    client = Client(HTTP_USER_AGENT=seed.USER_AGENT)
    client.post("/cart/add/", {"product": products[0], "quantity": 1})  # creates the guest session
    return _measure(lambda i: client.post("/cart/add/", {"product": products[i % len(products)], "quantity": 1}))


def guest_checkout():
    """A guest's checkout with a 1-line cart: each request a fresh guest (add first, unmeasured)."""
    product = seed.bench_products()[0].pk
    clients = [Client(HTTP_USER_AGENT=seed.USER_AGENT) for _ in range(REPEAT)]
    for client in clients:
        client.post("/cart/add/", {"product": product, "quantity": 1})
    return _measure(lambda i: clients[i].post("/checkout/", {"email": f"bench{i}@example.com", "address": ""}))


def guest_order_page():
    client = Client(HTTP_USER_AGENT=seed.USER_AGENT)
    client.post("/cart/add/", {"product": seed.bench_products()[0].pk, "quantity": 1})
    page = client.post("/checkout/", {"email": "bench@example.com", "address": ""})["Location"]
    client.get(page)
    return _measure(lambda i: client.get(page))


def signed_in_catalog():
    client = _signed_in_client("bench_probe")
    client.get("/")
    return _measure(lambda i: client.get("/"))


def baseline_catalog():
    # A stock session made directly: signing in would run shopdemo's sign-in signal,
    # which needs the project's session store.
    client = Client(HTTP_USER_AGENT=seed.USER_AGENT)
    client.cookies[settings.SESSION_COOKIE_NAME] = seed.stock_session("bench_probe")
    client.get("/")
    return _measure(lambda i: client.get("/"))


def cart_page():
    client = _signed_in_client("bench_cart")
    client.get("/cart/")
    return _measure(lambda i: client.get("/cart/"))


def merge_sign_in():
    jars = seed.new_guest_sessions(REPEAT)
    client = Client(HTTP_USER_AGENT=seed.USER_AGENT)

    def send(i):
        client.cookies.clear()
        for name, value in jars[i].items():
            client.cookies[name] = value
        return client.post("/accounts/login/", {"username": "bench_merge", "password": os.environ["DEMO_PASSWORD"]})

    return _measure(send)


SCENARIOS = {
    "anon_catalog": anon_catalog,
    "guest_add": guest_add,
    "guest_checkout": guest_checkout,
    "guest_order_page": guest_order_page,
    "signed_in_catalog": signed_in_catalog,
    "baseline_catalog": baseline_catalog,
    "cart_page": cart_page,
    "merge_sign_in": merge_sign_in,
}


def queries(names):
    results = {}
    for name in names:
        if os.environ.get("BENCH_SQL"):
            print(f"== {name}", file=sys.stderr)
        results[name] = SCENARIOS[name]()
    return results


def _peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def purge(command):
    """Run `manage.py COMMAND` in this process, timing each statement on the session table.

    Every statement either command sends runs in autocommit, so each is its own
    transaction: the longest one is the longest transaction the purge holds.
    """
    from django.core.management import call_command

    statements = []

    def timed(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if "accounts_session" in sql and sql.lstrip().upper().startswith("DELETE"):
                statements.append(time.perf_counter() - start)

    started = time.time()
    with connection.execute_wrapper(timed), open(os.devnull, "w") as quiet:
        call_command(command, stdout=quiet)
    ended = time.time()
    ordered = sorted(statements) or [0.0]
    return {
        "started": started,
        "ended": ended,
        "wall": ended - started,
        "statements": len(statements),
        "max_statement": ordered[-1],
        "median_statement": ordered[len(ordered) // 2],
        "rss_mb": _peak_rss_mb(),
    }


def writer(path):
    """Update live sessions one commit at a time until SIGTERM; write (epoch, seconds) per commit to `path`.

    What a site's requests do to the session table while a purge runs: each UPDATE
    moves a live row's last_activity and expiry, as record_activity does.
    """
    import random
    import signal

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT session_key FROM accounts_session WHERE expire_date > now() AND user_agent = %s LIMIT 1000",
            [seed.FILLER_AGENT],
        )
        keys = [row[0] for row in cursor.fetchall()]
        print(json.dumps({"ready": len(keys)}), flush=True)
        samples = []
        while not stop:
            start = time.perf_counter()
            cursor.execute(
                "UPDATE accounts_session SET last_activity = now(), expire_date = now() + interval '1 day'"
                " WHERE session_key = %s",
                [random.choice(keys)],
            )
            samples.append((time.time(), time.perf_counter() - start))
    Path(path).write_text(json.dumps(samples))
    return {"commits": len(samples)}


def main(argv):
    command, args = argv[0], argv[1:]
    result = {
        "queries": lambda: queries(args),
        "purge": lambda: purge(args[0]),
        "writer": lambda: writer(args[0]),
    }[command]()
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
