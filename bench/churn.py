"""The session table's churn under autovacuum, with and without per-table settings (run by bench/run.py).

    python bench/churn.py project|default SECONDS

Fills accounts_session with LIVE_ROWS live rows, then for SECONDS writes the way a busy
site does, one commit at a time: an activity write (record_activity moves expire_date,
which is indexed, so no update is HOT and each leaves a dead row and index entries behind)
and a lookup by key on every step, and every SIGN_EVERY steps a sign-out (DELETE) and a
sign-in (INSERT). `project` keeps the table's own autovacuum thresholds (set by the migration
accounts/migrations/0005_session_autovacuum.py); `default` resets them to PostgreSQL's for the run (a
vacuum once 20% of the table is dead) and puts them back after. Both run with
autovacuum_naptime at 1 s, so the comparison is about the thresholds, not the nap.

Prints one JSON object: the table's size before and after, the most dead rows seen, the
number of autovacuum runs, and the latencies of the writes and the lookups.
"""

import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from django.db import connection  # noqa: E402
from seed import FILLER_AGENT, drop_filler, rows  # noqa: E402  (seed sets Django up)

LIVE_ROWS = 100_000
SIGN_EVERY = 10
TABLE = "accounts_session"


def execute(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else cursor.rowcount


def stats():
    size, dead, runs = execute(
        "SELECT pg_total_relation_size(relid), n_dead_tup, autovacuum_count "
        "FROM pg_stat_user_tables WHERE relname = %s",
        [TABLE],
    )[0]
    return {"size": size, "dead": dead, "runs": runs}


def percentile(values, share):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * share))]


def timed(sql, params):
    start = time.perf_counter()
    execute(sql, params)
    return time.perf_counter() - start


def churn(variant: str, seconds: float) -> dict:
    drop_filler()
    execute(f"VACUUM FULL {TABLE}")  # each variant starts from a compact table
    execute("ALTER SYSTEM SET autovacuum_naptime = '1s'")
    execute("SELECT pg_reload_conf()")
    (options,) = execute("SELECT reloptions FROM pg_class WHERE relname = %s", [TABLE])[0]
    if not options:
        raise SystemExit(f"{TABLE} has no autovacuum settings of its own: migrate first")
    if variant == "default":
        execute(f"ALTER TABLE {TABLE} RESET ({', '.join(option.split('=')[0] for option in options)})")
    rows("live", LIVE_ROWS)
    keys = [key for (key,) in execute(f"SELECT session_key FROM {TABLE} WHERE user_agent = %s", [FILLER_AGENT])]
    before = stats()
    writes, lookups, most_dead = [], [], 0
    step, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        key = random.choice(keys)
        writes.append(
            timed(
                f"UPDATE {TABLE} SET last_activity = now(), expire_date = now() + interval '30 minutes' "
                "WHERE session_key = %s",
                [key],
            )
        )
        lookups.append(timed(f"SELECT session_data FROM {TABLE} WHERE session_key = %s", [random.choice(keys)]))
        step += 1
        if step % SIGN_EVERY == 0:
            gone = keys.pop(random.randrange(len(keys)))
            writes.append(timed(f"DELETE FROM {TABLE} WHERE session_key = %s", [gone]))
            new = f"{random.getrandbits(256):064x}"
            writes.append(
                timed(
                    f"INSERT INTO {TABLE} (session_key, session_data, expire_date, public_id, ip, user_agent, "
                    "remember, created_at, last_activity, successor_seal) VALUES (%s, repeat('x', 120), "
                    "now() + interval '30 minutes', substr(md5(%s), 1, 22), '127.0.0.1', %s, false, now(), now(), '')",
                    [new, new, FILLER_AGENT],
                )
            )
            keys.append(new)
        if step % 500 == 0:
            most_dead = max(most_dead, stats()["dead"])
    after = stats()
    execute(f"ALTER TABLE {TABLE} SET ({', '.join(options)})")
    execute("ALTER SYSTEM RESET autovacuum_naptime")
    execute("SELECT pg_reload_conf()")
    drop_filler()
    return {
        "variant": variant,
        "settings": options if variant == "project" else [],
        "rows": LIVE_ROWS,
        "steps": step,
        "size_before_mb": before["size"] / 2**20,
        "size_after_mb": after["size"] / 2**20,
        "most_dead": max(most_dead, after["dead"]),
        "autovacuum_runs": after["runs"] - before["runs"],
        "write_p50": percentile(writes, 0.5),
        "write_p99": percentile(writes, 0.99),
        "lookup_p50": percentile(lookups, 0.5),
        "lookup_p99": percentile(lookups, 0.99),
    }


if __name__ == "__main__":
    print(json.dumps(churn(sys.argv[1], float(sys.argv[2]))))
