"""The baseline for `make bench`: shopdemo with Django's stock session engine and middleware.

Everything else (apps, templates, database, CONN_MAX_AGE, the other middleware) is
shopdemo's, so the ratio shopdemo / baseline is what the project's session layer
(timeouts, rotation, binding, audit) costs.
"""

from shopdemo.settings import *  # noqa: F403
from shopdemo.settings import MIDDLEWARE, TEMPLATES

SESSION_ENGINE = "django.contrib.sessions.backends.db"
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware"
    if entry == "accounts.sessions.middleware.SessionMiddleware"
    else entry
    for entry in MIDDLEWARE
]
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
