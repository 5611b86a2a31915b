#!/usr/bin/env bash
# Usage: scripts/haproxy-errorfile.sh OUT
#
# Write HAProxy's answer for "no app server is up" (scripts/haproxy.cfg `errorfile 503`):
# the shop's own "Back in a moment" page, templates/503.html, with the Retry-After that
# the apps send while their database is down (shopdemo/views.py DATABASE_DOWN_RETRY_SECONDS;
# tests/test_cluster.py checks that the two agree).
set -euo pipefail
cd "$(dirname "$0")/.."
{
    printf 'HTTP/1.1 503 Service Unavailable\r\n'
    printf 'Content-Type: text/html; charset=utf-8\r\n'
    printf 'Cache-Control: no-store\r\n'
    printf 'Retry-After: 30\r\n'
    printf 'Connection: close\r\n'
    printf '\r\n'
    cat templates/503.html
} > "$1"
