#!/usr/bin/env bash
# Make sure Prometheus and promtool are installed: make test checks and tests the alert
# rules with promtool, the cluster tests and make cluster start a real Prometheus.
set -euo pipefail

if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
    exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    echo "ensure-prometheus: prometheus missing; installing Debian's prometheus with apt-get" >&2
    apt-get update
    # Without recommends: no node exporter. Without systemd the package starts no service.
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus
fi
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
    echo "ensure-prometheus: ERROR: the alert-rule tests need promtool and prometheus." >&2
    echo "install Debian's prometheus: sudo apt-get install prometheus" >&2
    exit 1
fi
