"""WSGI entry point (gunicorn shopdemo.wsgi:application)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopdemo.settings")
# A web process: settings bound its database waits (DATABASE_STATEMENT_TIMEOUT, DATABASE_LOCK_TIMEOUT).
os.environ["SHOPDEMO_WEB_PROCESS"] = "1"
application = get_wsgi_application()
