"""Run Lighthouse several times per page; print the median score of each category; exit 1 below 100.

Used by scripts/audit-ui.sh (make audit-ui), which serves the site and passes its address.
"""

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

TRIES_PER_RUN = 3  # a run whose trace failed to record (NO_NAVSTART and the like) is tried again


def lighthouse(args, url: str, report: Path) -> dict:
    command = [
        args.lighthouse,
        url,
        f"--only-categories={args.categories}",
        "--output=json",
        f"--output-path={report}",
        "--quiet",
        f"--chrome-flags={args.chrome_flags}",
    ]
    for _ in range(TRIES_PER_RUN):
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode == 0 and not json.loads(report.read_text()).get("runtimeError"):
            return json.loads(report.read_text())
    sys.exit(f"Lighthouse failed {TRIES_PER_RUN} times on {url}:\n{done.stderr[-2000:]}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--lighthouse", required=True)
    parser.add_argument("--categories", required=True)
    parser.add_argument("--chrome-flags", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args()
    version = subprocess.run([args.lighthouse, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"Lighthouse {version}, mobile preset, median of {args.runs} runs per page")
    ok = True
    for path in args.paths:
        reports = [lighthouse(args, args.base + path, args.work / f"report-{n}.json") for n in range(args.runs)]
        scores = {
            key: statistics.median(round(report["categories"][key]["score"] * 100) for report in reports)
            for key in reports[0]["categories"]
        }
        metrics = {
            name: statistics.median(report["audits"][audit]["numericValue"] for report in reports)
            for name, audit in [
                ("FCP", "first-contentful-paint"),
                ("LCP", "largest-contentful-paint"),
                ("TBT", "total-blocking-time"),
            ]
        }
        cls = statistics.median(report["audits"]["cumulative-layout-shift"]["numericValue"] for report in reports)
        print(
            f"{path:28} "
            + "  ".join(f"{key} {score:g}" for key, score in scores.items())
            + "  ("
            + ", ".join(f"{name} {value:.0f} ms" for name, value in metrics.items())
            + f", CLS {cls:.3f})"
        )
        for report in reports:
            for key, category in report["categories"].items():
                for ref in category["auditRefs"]:
                    audit = report["audits"][ref["id"]]
                    if ref["weight"] and audit["score"] is not None and audit["score"] < 1:
                        print(f"    one run, {key}: {ref['id']} scored {audit['score']}: {audit['title']}")
        ok &= all(score == 100 for score in scores.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
