"""For `make bench`'s connection evaluation: shopdemo on Django 5.2's native PostgreSQL pool.

The same settings as shopdemo, but each process keeps a psycopg_pool of connections
(CONN_MAX_AGE must be 0 with a pool) instead of one persistent connection per thread.
"""

from shopdemo.settings import *  # noqa: F403
from shopdemo.settings import DATABASES

# gunicorn's sync workers serve one request at a time: one connection in use, a spare.
POOL = {"min_size": 1, "max_size": 2}
DATABASES = {
    "default": {
        **DATABASES["default"],
        "CONN_MAX_AGE": 0,
        "OPTIONS": {**DATABASES["default"].get("OPTIONS", {}), "pool": POOL},
    }
}
