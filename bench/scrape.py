"""The cost of a /metrics scrape on a large session table (docs/operations.md quotes the figures).

    scripts/with-postgres.sh .venv/bin/python bench/scrape.py [ROWS]

Inserts ROWS (default 1,000,000) live filler sessions, a tenth of them signed in, and
10% as many expired ones, then times the scrape through Django's test client (the
view, its queries and the encoding), and the dashboard's one session query alone.
Then what scrapes cost the requests running meanwhile: the session-row lookup that
every request makes (by primary key), timed alone and while another connection
scrapes back to back (far more often than Prometheus would). Prints one JSON object.
"""

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopdemo.settings")
os.environ["METRICS_TOKEN"] = "bench-scrape"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Session  # noqa: E402
from accounts.monitoring.dashboard import session_counts  # noqa: E402

ROUNDS = 20
LOOKUPS = 2000


def timed(action) -> dict:
    action()  # warm: the first run reads the table into the buffer cache
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return {"median_ms": round(statistics.median(samples), 1), "max_ms": round(max(samples), 1)}


def main(rows: int):
    call_command("migrate", verbosity=0)
    seed = [sys.executable, str(ROOT / "bench" / "seed.py"), "rows"]
    subprocess.run([*seed, "live", str(rows)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*seed, "expired", str(rows // 10)], check=True, stdout=subprocess.DEVNULL)
    with connection.cursor() as cursor:  # a tenth signed in, a tenth of those device-bound
        cursor.execute(
            "INSERT INTO auth_user (username, password, is_superuser, is_staff, is_active, first_name,"
            " last_name, email, date_joined) VALUES ('bench_scrape', '', false, false, true, '', '', '',"
            " now()) ON CONFLICT DO NOTHING"
        )
        cursor.execute(
            "UPDATE accounts_session SET user_id = (SELECT id FROM auth_user WHERE username ="
            " 'bench_scrape') WHERE random() < 0.1"
        )
        cursor.execute("UPDATE accounts_session SET device_key = '{}' WHERE user_id IS NOT NULL AND random() < 0.1")
        cursor.execute("VACUUM ANALYZE accounts_session")
    client = Client(HTTP_HOST="localhost")

    def scrape():
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer bench-scrape").status_code == 200

    keys = list(Session.objects.order_by("?").values_list("session_key", flat=True)[:LOOKUPS])

    def lookups() -> dict:
        samples = []
        for key in keys:
            started = time.perf_counter()
            Session.objects.filter(session_key=key).first()
            samples.append((time.perf_counter() - started) * 1000)
        samples.sort()
        median, p99 = samples[len(samples) // 2], samples[len(samples) * 99 // 100]
        return {"median_ms": round(median, 3), "p99_ms": round(p99, 3)}

    alone = lookups()
    scraping, scrapes = threading.Event(), []

    def scrape_loop():
        scraper = Client(HTTP_HOST="localhost")
        while not scraping.is_set():
            scraper.get("/metrics", HTTP_AUTHORIZATION="Bearer bench-scrape")
            scrapes.append(1)
        connection.close()

    thread = threading.Thread(target=scrape_loop)
    thread.start()
    meanwhile = lookups()
    scraping.set()
    thread.join()
    counts = session_counts(timezone.now())
    print(
        json.dumps(
            {
                "rows": rows + rows // 10,
                "active": {"guest": counts.guest, "signed_in": counts.signed_in, "device_bound": counts.device_bound},
                "scrape": timed(scrape),
                "session_counts_query": timed(lambda: session_counts(timezone.now())),
                "session_lookup_alone": alone,
                "session_lookup_while_scraping": {**meanwhile, "scrapes_meanwhile": len(scrapes)},
                "postgresql": connection.cursor().connection.info.server_version,
            }
        )
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
