"""bench/results.md: the requests, the session-table size and the purge, as Markdown tables."""

import os
import platform
import re
import time
from pathlib import Path

from bench.common import (
    ADD_GUESTS,
    ENV,
    LIVE_ROWS,
    SECONDS,
    SMALL_TABLE,
    THREADS,
    WORKERS,
    WRITER_ROWS,
    WRK_CONNECTIONS,
    WRK_THREADS,
)


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
