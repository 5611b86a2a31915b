"""purge_sessions against Django's clearsessions on expired rows, a writer updating live sessions beside."""

import json
import subprocess

from bench.common import ENV, PURGE_ROWS, PY, ROOT, TMP, WRITER_ROWS, helper, log, timed_process
from bench.report import ms


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
