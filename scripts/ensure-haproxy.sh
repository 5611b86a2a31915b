#!/usr/bin/env bash
# Make sure haproxy is installed: make cluster and the cluster tests start a real one.
set -euo pipefail

if command -v haproxy >/dev/null 2>&1; then
    exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    echo "ensure-haproxy: haproxy missing; installing Debian's haproxy with apt-get" >&2
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y haproxy
fi
if ! command -v haproxy >/dev/null 2>&1; then
    echo "ensure-haproxy: ERROR: make cluster and the cluster tests need haproxy." >&2
    echo "install Debian's haproxy: sudo apt-get install haproxy" >&2
    exit 1
fi
