"""bench/results.md, continued: the scaling rows, the session table's churn, the mail queue."""

from bench.report import md_row, ms, notes_for


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


def mail_report(queued, checkout):
    """What queuing a mail costs the request, and how fast one db_worker sends.

    `checkout` is the guest checkout scenario of the same run: the enqueue's cost measured
    in process is set against that whole request's p50 over HTTP.
    """
    enqueue, worker = queued["enqueue"], queued["worker"]
    with_mail, without = enqueue["with mail p50"], enqueue["without mail p50"]
    added_ms = (with_mail - without) * 1000
    lines = [
        "## The mail queue",
        "",
        md_row("measure", "value", "notes"),
        md_row("---", "---:", "---"),
        md_row(
            "order_place with its queued mail, p50",
            f"{with_mail * 1000:.2f} ms",
            f"{enqueue['orders']} orders in process, alternating with the same without the enqueue "
            f"({without * 1000:.2f} ms): the mail's INSERT adds {added_ms:.2f} ms, "
            f"{(with_mail / without - 1) * 100:.0f}% of the service's own database work",
        ),
        md_row(
            "the enqueue against a whole guest checkout over HTTP",
            f"**{added_ms / checkout['p50'] * 100:.1f}%**",
            f"{added_ms:.2f} ms of the checkout scenario's p50 ({checkout['p50']:.1f} ms) in this run",
        ),
        md_row(
            "one db_worker, a backlog of mails into a local SMTP sink",
            f"{worker['per_second']:.0f} mails/s",
            f"{worker['backlog_sent']} mails in {worker['burst_seconds']:.1f} s (`db_worker --batch`): "
            f"{worker['burst_sent']} queued at once and what the earlier steps left queued",
        ),
        md_row(
            "commit to receipt, 50 mails/s one by one, p50 / p99",
            f"{ms(worker['delay_p50'])} / {ms(worker['delay_p99'])}",
            f"{worker['trickle_sent']} of {worker['trickle']} mails within 60 s; an idle worker polls once a second; "
            f"the queue's rows at the end by status: {worker['left']}",
        ),
    ]
    return "\n" + "\n".join(lines) + "\n"


def revocation_report(revoked):
    """From "ended" to "refused on every server", with Redis answering and frozen."""
    lines = [
        "## Ended to refused everywhere, two cached servers on one Redis",
        "",
        md_row("Redis", "median", "worst", "requests served signed in after the sign-out", "trials"),
        md_row("---", "---:", "---:", "---:", "---:"),
    ]
    for state, label in (("answering", "answering"), ("frozen", "frozen (SIGSTOP)")):
        row = revoked[state]
        worst = f"**{row['worst']:.0f} ms**"
        lines.append(md_row(label, f"{row['median']:.0f} ms", worst, f"**{row['served']}**", row["trials"]))
    lines += [
        "",
        "Each trial signs in on server a, has a and b serve the session, signs it out on a, then asks both "
        "servers with the old cookie until both answer signed out (bench/revocation.py). No server copies a "
        "session row, so the first request after the sign-out is refused on each server; the time is how long "
        "those two requests take to answer. With Redis frozen each waits out the cache's socket timeouts "
        "(0.25 s per call) before it answers, refused.",
    ]
    return "\n" + "\n".join(lines) + "\n"
