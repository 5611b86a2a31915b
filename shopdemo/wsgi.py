"""WSGI entry point (gunicorn shopdemo.wsgi:application)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopdemo.settings")
application = get_wsgi_application()
