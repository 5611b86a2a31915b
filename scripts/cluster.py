"""make cluster: scripts/with-postgres.sh .venv/bin/python -m scripts.cluster

Two shopdemo app servers (gunicorn, each with a db_worker that sends the mail) behind
HAProxy, sharing the PostgreSQL that with-postgres.sh started and a throwaway Redis,
with SESSION_CACHED=true, and a Prometheus scraping both servers' /metrics with
deploy/prometheus/alerts.yml loaded (its data in a throwaway directory). All on
loopback, in the foreground; Ctrl-C stops everything (with-postgres.sh then stops
PostgreSQL and deletes its data).

Ports: CLUSTER_PORT (8103, the balancer), APP_A_PORT (8104), APP_B_PORT (8105),
CLUSTER_REDIS_PORT (63803), CLUSTER_PROMETHEUS_PORT (9103).
"""

import os
import secrets
import signal
import subprocess
import sys
import time

from scripts.harness import ROOT, port_in_use, start_cluster, start_prometheus

BANNER = """
  ------------------------------------------------------------------
  shopdemo cluster: HAProxy on {url}
  app servers a (127.0.0.1:{a}) and b (127.0.0.1:{b}), round-robin,
  a db_worker beside each (mail goes to EMAIL_URL: the console below),
  PostgreSQL {database}, Redis 127.0.0.1:{redis}, SESSION_CACHED=true.
  Prometheus on {prometheus} (alerts: /alerts), scraping both
  servers' /metrics with METRICS_TOKEN={token}
  Sign in as demo / alice / bob with password: {password}
  Passkeys: open http://localhost:{balancer} (an IP address cannot hold passkeys).
  Stop everything with Ctrl-C.
  ------------------------------------------------------------------
"""


def log(message: str) -> None:
    print(f"cluster: {message}", file=sys.stderr, flush=True)


def prepare(cluster) -> None:
    """What the servers need before they start: static files, the schema, the demo users."""
    env = {**cluster.base, **cluster.env}
    for args in (["collectstatic", "--noinput", "-v0"], ["migrate", "--noinput", "-v0"], ["seed_demo", "--users"]):
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def supervise(cluster) -> None:
    """Until Ctrl-C: start a stopped db_worker again (it exits when its database goes away, a
    PostgreSQL restart), as systemd's Restart=always; any other part stopping ends the cluster."""
    while True:
        time.sleep(1)
        for name, process in cluster.processes.items():
            if process.poll() is None:
                continue
            if not name.startswith("worker "):
                log(f"{name} stopped; stopping the others")
                return
            log(f"{name} stopped; starting it again")
            cluster.start_worker(name.removeprefix("worker "))
            break  # the dict changed


def main() -> int:
    ports = {
        "balancer": int(os.environ.get("CLUSTER_PORT", "8103")),
        "a": int(os.environ.get("APP_A_PORT", "8104")),
        "b": int(os.environ.get("APP_B_PORT", "8105")),
        "redis": int(os.environ.get("CLUSTER_REDIS_PORT", "63803")),
    }
    prometheus_port = int(os.environ.get("CLUSTER_PROMETHEUS_PORT", "9103"))
    for port in (*ports.values(), prometheus_port):
        if port_in_use(port):
            log(
                f"ERROR: port {port} on 127.0.0.1 is in use; pick others with CLUSTER_PORT, APP_A_PORT, "
                "APP_B_PORT, CLUSTER_REDIS_PORT, CLUSTER_PROMETHEUS_PORT"
            )
            return 1
    # What every app server shares: the database, the signing key, the metrics token.
    base = {
        **os.environ,
        "ENV_FILE": "/dev/null",
        "DEBUG": "false",
        "HTTPS": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "text"),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN") or secrets.token_urlsafe(32),
    }
    app_options = {"workers": base.get("WEB_CONCURRENCY", "2"), "threads": base.get("GUNICORN_THREADS", "4")}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(129))
    cluster = None
    try:
        # The terminal sees every part's output: HAProxy's line per request, the mail on the console.
        cluster = start_cluster(base, ports, prepare=prepare, app_options=app_options, output=None)
        targets = [f"127.0.0.1:{ports[name]}" for name in ("a", "b")]
        (cluster.home / "prometheus").mkdir()
        cluster.processes["prometheus"], prometheus = start_prometheus(
            targets, base["METRICS_TOKEN"], prometheus_port, "5s", None, cluster.home / "prometheus"
        )
        print(
            BANNER.format(
                url=cluster.url,
                a=ports["a"],
                b=ports["b"],
                balancer=ports["balancer"],
                database=base.get("DATABASE_URL", ""),
                redis=ports["redis"],
                prometheus=prometheus,
                token=base["METRICS_TOKEN"],
                password=base.get("DEMO_PASSWORD", ""),
            ),
            flush=True,
        )
        supervise(cluster)
        return 1
    except KeyboardInterrupt:
        return 130
    except (subprocess.CalledProcessError, AssertionError) as error:  # a step failed, or a wait ran out
        log(f"ERROR: {error}")
        return 1
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
