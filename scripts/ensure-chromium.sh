#!/usr/bin/env bash
# Make sure the Chromium that the browser tests drive (Debian's /usr/bin/chromium)
# is installed.  Installs it with apt-get when possible (root + apt-get).
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    exit 0
fi

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    echo "ensure-chromium: $CHROMIUM missing; installing Debian's chromium with apt-get" >&2
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
    if [ -x "$CHROMIUM" ]; then
        exit 0
    fi
else
    # Last resort: Playwright's own browser download (blocked on machines
    # without general internet access). tests/browser/conftest.py uses it
    # when $CHROMIUM is absent.
    if [ -x .venv/bin/python ]; then
        echo "ensure-chromium: trying 'python -m playwright install chromium'" >&2
        if .venv/bin/python -m playwright install chromium; then
            exit 0
        fi
    fi
fi

if [ ! -x "$CHROMIUM" ]; then
    echo "ensure-chromium: ERROR: the browser tests expect $CHROMIUM, which is missing." >&2
    echo "install Debian's chromium: sudo apt-get install chromium" >&2
    exit 1
fi
