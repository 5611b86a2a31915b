#!/usr/bin/env bash
# Make sure redis-server is installed: the cached-session tests start a real one.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
    exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    echo "ensure-redis: redis-server missing; installing Debian's redis-server with apt-get" >&2
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server
    # The package starts a system instance on 6379; the tests start their own.
fi
if ! command -v redis-server >/dev/null 2>&1; then
    echo "ensure-redis: ERROR: the cached-session tests need redis-server." >&2
    echo "install Debian's redis-server: sudo apt-get install redis-server" >&2
    exit 1
fi
