"""`make bench`: shopdemo under gunicorn + wrk on PostgreSQL, against Django's stock sessions.

Run as `bash scripts/with-postgres.sh .venv/bin/python -m bench.run` (DATABASE_URL must name
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
7. ended to refused on every server, two cached servers on one Redis, answering and frozen
   (bench/revocation.py);
8. print the tables and write them to bench/results.md.

Environment: BENCH_SECONDS (10), BENCH_PURGE_ROWS (1000000,3000000), BENCH_LIVE_ROWS (1000000),
BENCH_CHURN_SECONDS (30), BENCH_ROUNDS (2: ABAB), WEB_CONCURRENCY (2 workers), GUNICORN_THREADS (1: sync workers).
The mail queue's rows come from bench/mail.py (enqueue cost in process, one db_worker's throughput).

The jobs, one module each: bench/scenarios.py (the wrk scenarios, steps 2 and 4), bench/load.py
(wrk and its Lua), bench/purge.py (step 5), bench/report.py and bench/report_scaling.py (step 7);
bench/common.py holds the settings and the servers, started with scripts/harness.py.
"""

import datetime
import os

from bench.common import (
    BASELINE_ENV,
    CHURN_SECONDS,
    ENV,
    MAIL_BURST,
    MAIL_ORDERS,
    ROOT,
    TMP,
    Server,
    helper,
    log,
    manage,
)
from bench.purge import purge
from bench.report import machine, report
from bench.report_scaling import churn_report, mail_report, revocation_report, scaling_report
from bench.revocation import revocation
from bench.scenarios import live_rows, scaling, scenarios


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
    log("ended to refused everywhere, Redis answering and frozen")
    revoked = revocation()
    purged = purge()
    log(f"session-table churn, {CHURN_SECONDS} s per autovacuum variant")
    churned = [helper("churn", variant, CHURN_SECONDS) for variant in ("default", "project")]
    log("the mail queue: enqueue cost and one worker's throughput")
    queued = {"enqueue": helper("mail", "enqueue", MAIL_ORDERS), "worker": helper("mail", "worker", MAIL_BURST)}

    text = report(info, rows, probe, live, purged, started) + scaling_report(scaled) + churn_report(churned)
    text += revocation_report(revoked) + mail_report(queued, rows["checkout"])
    (ROOT / "bench" / "results.md").write_text(text)
    print(text)
    log(f"written to bench/results.md; logs and Lua scripts in {TMP}")


if __name__ == "__main__":
    main()
