#!/usr/bin/env bash
# Make sure the Firefox that the second-engine browser tests drive (Debian's
# firefox-esr, over WebDriver BiDi with puppeteer-core) is installed.
# Installs it with apt-get when possible (root + apt-get); no browser download.
set -euo pipefail

FIREFOX=/usr/bin/firefox-esr

if [ -x "$FIREFOX" ]; then
    exit 0
fi

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    echo "ensure-firefox: $FIREFOX missing; installing Debian's firefox-esr with apt-get" >&2
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y firefox-esr
fi

if [ ! -x "$FIREFOX" ]; then
    echo "ensure-firefox: ERROR: the Firefox browser tests expect $FIREFOX, which is missing." >&2
    echo "install Debian's firefox-esr: sudo apt-get install firefox-esr" >&2
    exit 1
fi
