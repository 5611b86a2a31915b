"""The baseline for `make bench`: shopdemo with Django's stock session engine and middleware.

Django's own authentication backends load the signed-in user. Everything else (apps,
templates, database, CONN_MAX_AGE, the other middleware) is shopdemo's, so the ratio
shopdemo / baseline is what the project's session layer (timeouts, rotation, binding,
audit, the cached engine's copies) costs or saves.
"""

from accounts import backend_paths
from shopdemo.settings import *  # noqa: F403
from shopdemo.settings import AUTHENTICATION_BACKENDS, MIDDLEWARE, TEMPLATES

SESSION_ENGINE = "django.contrib.sessions.backends.db"
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware"
    if entry == "accounts.sessions.middleware.SessionMiddleware"
    else entry
    for entry in MIDDLEWARE
]
# Django's own backends: the user's row is read by Django's query on every request.
STOCK_BACKENDS = {replacement: stock for stock, replacement in backend_paths.REPLACED.items()}
AUTHENTICATION_BACKENDS = [STOCK_BACKENDS.get(path, path) for path in AUTHENTICATION_BACKENDS]
# The idle-timeout context processor reads the project's session store.
TEMPLATES = [
    {
        **engine,
        "OPTIONS": {
            **engine["OPTIONS"],
            "context_processors": [
                p for p in engine["OPTIONS"]["context_processors"] if p != "accounts.sessions.state.session_timeout"
            ],
        },
    }
    for engine in TEMPLATES
]
