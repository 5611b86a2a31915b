#!/usr/bin/env bash
# make audit-ui: Lighthouse (npm, pinned in package-lock.json) on the catalog and a product
# page, mobile preset, against production-style serving (gunicorn + whitenoise, DEBUG off)
# of a freshly seeded throwaway SQLite database. Prints the four scores of each page and
# fails unless every one is 100. Drives Debian's Chromium with the browser tests' flags.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
LIGHTHOUSE=node_modules/.bin/lighthouse
PAGES=${AUDIT_PAGES:-"/ /products/cedar-notebook/ /cart/ /accounts/login/ /accounts/register/"}
CATEGORIES=performance,accessibility,best-practices,seo
# The flags of tests/browser/conftest.py (CHROMIUM_ARGS), read from there so they cannot drift.
CHROME_FLAGS=$($PY -c 'import ast, pathlib
tree = ast.parse(pathlib.Path("tests/browser/conftest.py").read_text())
flags = next(n.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "CHROMIUM_ARGS")
print(" ".join(ast.literal_eval(flags)))')

work=$(mktemp -d /tmp/shopdemo-audit.XXXXXX)
port=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export ENV_FILE=/dev/null DEBUG=false SECRET_KEY=audit-ui-only-key CACHE_URL=locmemcache:// \
    DATABASE_URL="sqlite:///$work/db.sqlite3" ALLOWED_HOSTS=127.0.0.1

server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

$PY manage.py collectstatic --noinput -v0
$PY manage.py migrate --noinput -v0
$PY manage.py seed_demo >/dev/null
.venv/bin/gunicorn shopdemo.wsgi:application --bind "127.0.0.1:$port" --workers 2 --log-level warning &
server=$!
for _ in $(seq 1 100); do
    if curl -fs -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; then break; fi
    sleep 0.1
done

# Lighthouse's own advice: scores vary from run to run, so take the median of several
# (AUDIT_RUNS, 3); a run that fails to record a trace (it happens on a loaded machine) is retried.
CHROME_PATH=/usr/bin/chromium $PY scripts/lighthouse_median.py --base "http://127.0.0.1:$port" \
    --lighthouse "$LIGHTHOUSE" --categories "$CATEGORIES" --chrome-flags "$CHROME_FLAGS" \
    --runs "${AUDIT_RUNS:-3}" --work "$work" $PAGES
