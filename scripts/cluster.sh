#!/usr/bin/env bash
# Usage (make cluster): scripts/with-postgres.sh scripts/cluster.sh
#
# Two shopdemo app servers (gunicorn) behind HAProxy, sharing the PostgreSQL that
# with-postgres.sh started and a throwaway Redis, with SESSION_CACHED=true. All on
# loopback, in the foreground; Ctrl-C stops everything (with-postgres.sh then stops
# PostgreSQL and deletes its data).
#
# Ports: CLUSTER_PORT (8103, the balancer), APP_A_PORT (8104), APP_B_PORT (8105),
# CLUSTER_REDIS_PORT (63803).
set -euo pipefail
cd "$(dirname "$0")/.."

export CLUSTER_PORT="${CLUSTER_PORT:-8103}" APP_A_PORT="${APP_A_PORT:-8104}" APP_B_PORT="${APP_B_PORT:-8105}"
REDIS_PORT="${CLUSTER_REDIS_PORT:-63803}"
VENV_BIN="${VENV_BIN:-.venv/bin}"
log() { echo "cluster: $*" >&2; }

for port in "$CLUSTER_PORT" "$APP_A_PORT" "$APP_B_PORT" "$REDIS_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        log "ERROR: port $port on 127.0.0.1 is in use; pick others with CLUSTER_PORT, APP_A_PORT, APP_B_PORT, CLUSTER_REDIS_PORT"
        exit 1
    fi
done

pids=()
stop_all() {
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# What every app server shares: the database, the cache, the signing key.
export ENV_FILE=/dev/null DEBUG=false HTTPS=false SESSION_CACHED=true TRUSTED_PROXY_COUNT=1
export CACHE_URL="redis://127.0.0.1:$REDIS_PORT/0" ALLOWED_HOSTS="127.0.0.1,localhost"
export SECRET_KEY="${SECRET_KEY:-$("$VENV_BIN/python" -c 'import secrets; print(secrets.token_urlsafe(50))')}"
export LOG_FORMAT="${LOG_FORMAT:-text}" LOG_LEVEL="${LOG_LEVEL:-WARNING}"

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --loglevel warning &
pids+=($!)

"$VENV_BIN/python" manage.py collectstatic --noinput -v0
"$VENV_BIN/python" manage.py migrate --noinput -v0
"$VENV_BIN/python" manage.py seed_demo --users >/dev/null

for port in "$APP_A_PORT" "$APP_B_PORT"; do
    "$VENV_BIN/gunicorn" shopdemo.wsgi:application --bind "127.0.0.1:$port" \
        --workers "${WEB_CONCURRENCY:-2}" --threads "${GUNICORN_THREADS:-4}" &
    pids+=($!)
done

haproxy -db -f scripts/haproxy.cfg &
pids+=($!)

for _ in $(seq 1 150); do
    if "$VENV_BIN/python" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" \
        "http://127.0.0.1:$CLUSTER_PORT/healthz" 2>/dev/null; then
        cat <<MSG

  ------------------------------------------------------------------
  shopdemo cluster: HAProxy on http://127.0.0.1:$CLUSTER_PORT
  app servers a (127.0.0.1:$APP_A_PORT) and b (127.0.0.1:$APP_B_PORT), round-robin,
  PostgreSQL $DATABASE_URL, Redis 127.0.0.1:$REDIS_PORT, SESSION_CACHED=true.
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
