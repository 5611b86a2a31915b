#!/usr/bin/env bash
# Usage (make cluster): scripts/with-postgres.sh scripts/cluster.sh
#
# Two shopdemo app servers (gunicorn, each with a db_worker that sends the mail) behind
# HAProxy, sharing the PostgreSQL that with-postgres.sh started and a throwaway Redis,
# with SESSION_CACHED=true, and a Prometheus scraping both servers' /metrics with
# deploy/prometheus/alerts.yml loaded (its data in a throwaway directory). All on
# loopback, in the foreground; Ctrl-C stops everything (with-postgres.sh then stops
# PostgreSQL and deletes its data).
#
# Ports: CLUSTER_PORT (8103, the balancer), APP_A_PORT (8104), APP_B_PORT (8105),
# CLUSTER_REDIS_PORT (63803), CLUSTER_PROMETHEUS_PORT (9103).
set -euo pipefail
cd "$(dirname "$0")/.."

export CLUSTER_PORT="${CLUSTER_PORT:-8103}" APP_A_PORT="${APP_A_PORT:-8104}" APP_B_PORT="${APP_B_PORT:-8105}"
REDIS_PORT="${CLUSTER_REDIS_PORT:-63803}"
PROMETHEUS_PORT="${CLUSTER_PROMETHEUS_PORT:-9103}"
VENV_BIN="${VENV_BIN:-.venv/bin}"
log() { echo "cluster: $*" >&2; }

for port in "$CLUSTER_PORT" "$APP_A_PORT" "$APP_B_PORT" "$REDIS_PORT" "$PROMETHEUS_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        log "ERROR: port $port on 127.0.0.1 is in use; pick others with CLUSTER_PORT, APP_A_PORT, APP_B_PORT, CLUSTER_REDIS_PORT, CLUSTER_PROMETHEUS_PORT"
        exit 1
    fi
done

pids=()
PROMETHEUS_HOME="$(mktemp -d -t shopdemo-prometheus.XXXXXX)"
stop_all() {
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$PROMETHEUS_HOME"
    rm -f "${HAPROXY_ERRORFILE:-}"
}
trap stop_all EXIT

# Run "$@" again whenever it stops, as systemd's Restart=always does: db_worker exits when
# its database goes away (a PostgreSQL restart). TERM stops the command and the loop.
supervise() {
    local child
    trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 0' TERM
    while true; do
        "$@" &
        child=$!
        wait "$child" || log "$1 $2 $3 stopped; starting it again"
        sleep 1
    done
}
trap 'exit 130' INT
trap 'exit 143' TERM

# What every app server shares: the database, the cache, the signing key.
export ENV_FILE=/dev/null DEBUG=false HTTPS=false SESSION_CACHED=true TRUSTED_PROXY_COUNT=1
export CACHE_URL="redis://127.0.0.1:$REDIS_PORT/0" ALLOWED_HOSTS="127.0.0.1,localhost"
export SECRET_KEY="${SECRET_KEY:-$("$VENV_BIN/python" -c 'import secrets; print(secrets.token_urlsafe(50))')}"
export LOG_FORMAT="${LOG_FORMAT:-text}" LOG_LEVEL="${LOG_LEVEL:-WARNING}"
export METRICS_TOKEN="${METRICS_TOKEN:-$("$VENV_BIN/python" -c 'import secrets; print(secrets.token_urlsafe(32))')}"

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --loglevel warning &
pids+=($!)

"$VENV_BIN/python" manage.py collectstatic --noinput -v0
"$VENV_BIN/python" manage.py migrate --noinput -v0
"$VENV_BIN/python" manage.py seed_demo --users >/dev/null

for port in "$APP_A_PORT" "$APP_B_PORT"; do
    "$VENV_BIN/gunicorn" shopdemo.wsgi:application --bind "127.0.0.1:$port" \
        --workers "${WEB_CONCURRENCY:-2}" --threads "${GUNICORN_THREADS:-4}" &
    pids+=($!)
    # Each server's own worker sends the mail (rows claimed with SKIP LOCKED: never twice).
    supervise "$VENV_BIN/python" manage.py db_worker --no-reload --worker-id "server-$port" -v0 &
    pids+=($!)
done

HAPROXY_ERRORFILE="$(mktemp --suffix=.http)"
export HAPROXY_ERRORFILE
bash scripts/haproxy-errorfile.sh "$HAPROXY_ERRORFILE"
haproxy -db -f scripts/haproxy.cfg &
pids+=($!)

# The scrape config of docs/operations.md, with the token in a file only this user reads.
(umask 077 && printf '%s' "$METRICS_TOKEN" > "$PROMETHEUS_HOME/token")
cat > "$PROMETHEUS_HOME/prometheus.yml" <<YAML
global: {scrape_interval: 5s, evaluation_interval: 5s}
rule_files: [$PWD/deploy/prometheus/alerts.yml]
scrape_configs:
  - job_name: shopdemo
    authorization: {credentials_file: $PROMETHEUS_HOME/token}
    static_configs: [{targets: ["127.0.0.1:$APP_A_PORT", "127.0.0.1:$APP_B_PORT"]}]
YAML
prometheus --config.file="$PROMETHEUS_HOME/prometheus.yml" --storage.tsdb.path="$PROMETHEUS_HOME/data" \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" --log.level=warn &
pids+=($!)

for _ in $(seq 1 150); do
    if "$VENV_BIN/python" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" \
        "http://127.0.0.1:$CLUSTER_PORT/healthz" 2>/dev/null; then
        cat <<MSG

  ------------------------------------------------------------------
  shopdemo cluster: HAProxy on http://127.0.0.1:$CLUSTER_PORT
  app servers a (127.0.0.1:$APP_A_PORT) and b (127.0.0.1:$APP_B_PORT), round-robin,
  a db_worker beside each (mail goes to EMAIL_URL: the console below),
  PostgreSQL $DATABASE_URL, Redis 127.0.0.1:$REDIS_PORT, SESSION_CACHED=true.
  Prometheus on http://127.0.0.1:$PROMETHEUS_PORT (alerts: /alerts), scraping both
  servers' /metrics with METRICS_TOKEN=$METRICS_TOKEN
  Sign in as demo / alice / bob with password: ${DEMO_PASSWORD}
  Passkeys: open http://localhost:$CLUSTER_PORT (an IP address cannot hold passkeys).
  Stop everything with Ctrl-C.
  ------------------------------------------------------------------

MSG
        # Until Ctrl-C, or until any part stops on its own (then stop the rest).
        wait -n
        log "a process of the cluster stopped; stopping the others"
        exit 1
    fi
    sleep 0.2
done
log "ERROR: the balancer did not answer /healthz within 30 s"
exit 1
