#!/usr/bin/env bash
# Usage: scripts/with-postgres.sh CMD [ARGS...]
#
# Starts a throwaway PostgreSQL cluster on 127.0.0.1:$PGPORT_TEST (default 54329)
# with trust authentication (loopback only, test use only), creates the database
# "shopdemo", runs CMD with
#     DATABASE_URL=postgres://postgres@127.0.0.1:$PGPORT_TEST/shopdemo
# exported, then stops the cluster and deletes its data directory (also on
# failure or interrupt), and exits with CMD's status.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi

PORT="${PGPORT_TEST:-54329}"
IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1

log() { echo "with-postgres: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Highest-versioned server install under /usr/lib/postgresql/*/bin (needs initdb,
# which only the server package ships, not the client package).
find_pg_bin() {
    local d best="" ver bestver=""
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] || continue
        ver="$(basename "$(dirname "$d")")"
        if [ -z "$bestver" ] || [ "$(printf '%s\n%s\n' "$bestver" "$ver" | sort -V | tail -n1)" = "$ver" ]; then
            best="$d"; bestver="$ver"
        fi
    done
    printf '%s' "$best"
}

PGBIN="$(find_pg_bin)"
if [ -z "$PGBIN" ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$IS_ROOT" -eq 1 ]; then
        log "no PostgreSQL server found; installing Debian's postgresql with apt-get"
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
        PGBIN="$(find_pg_bin)"
    fi
    [ -n "$PGBIN" ] || die "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin; install them: sudo apt-get install postgresql"
fi

if [ "$IS_ROOT" -eq 1 ]; then
    id -u postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' system user to run the server as"
fi

# Run a server-side command as the postgres user when we are root (initdb and
# postgres refuse to run as root).  cd / first so the postgres user never has to
# access the caller's working directory.
as_pg() {
    if [ "$IS_ROOT" -eq 1 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# Refuse to start if something already listens on the port.
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    die "port $PORT on 127.0.0.1 is already in use; stop whatever listens there or pick another port with PGPORT_TEST=NNNNN"
fi

if [ "$IS_ROOT" -eq 1 ]; then
    PGDATA_DIR="$(mktemp -d /tmp/shopdemo-pg.XXXXXX)"
    chown postgres: "$PGDATA_DIR"
else
    PGDATA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/shopdemo-pg.XXXXXX")"
fi
chmod 700 "$PGDATA_DIR"
PGLOG="$PGDATA_DIR/postgres.log"

cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    if [ -f "$PGDATA_DIR/postmaster.pid" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m immediate -w -t 30 stop >/dev/null 2>&1 \
            || log "WARNING: pg_ctl stop failed"
    fi
    rm -rf -- "$PGDATA_DIR"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

log "initdb ($PGBIN) in $PGDATA_DIR"
if ! initdb_out="$(as_pg "$PGBIN/initdb" -D "$PGDATA_DIR" -A trust -U postgres --no-sync \
        -E UTF8 --locale=C 2>&1)"; then
    printf '%s\n' "$initdb_out" >&2
    die "initdb failed"
fi

log "starting PostgreSQL on 127.0.0.1:$PORT"
PGOPTS="-c listen_addresses=127.0.0.1 -p $PORT -k $PGDATA_DIR -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=200"
if ! as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$PGLOG" -w -t 60 \
    -o "$PGOPTS" \
    start >/dev/null; then
    log "server log (tail):"
    tail -n 40 "$PGLOG" >&2 || true
    die "PostgreSQL failed to start on port $PORT"
fi

"$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres shopdemo \
    || die "createdb shopdemo failed"

export DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/shopdemo"
# For the fault tests, which stop and restart this cluster mid-run.
export SHOPDEMO_PG_BIN="$PGBIN" SHOPDEMO_PG_DATA="$PGDATA_DIR" SHOPDEMO_PG_OPTS="$PGOPTS"
log "DATABASE_URL=$DATABASE_URL"

set +e
"$@"
status=$?
set -e
exit "$status"
