"""Caching and the HTTPS profile (shopdemo/settings.py); CSP and framing: tests/attacks/."""

import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings

from tests.conftest import SESSION_COOKIE

pytestmark = pytest.mark.django_db


class TestHeaders:
    def test_signed_in_pages_are_not_stored(self, signed_in):
        assert "no-store" in signed_in.get("/").headers["Cache-Control"]

    def test_anonymous_catalog_may_be_cached(self, client):
        assert "no-store" not in client.get("/").headers.get("Cache-Control", "")

    def test_response_setting_the_session_cookie_is_not_stored(self, client, product):
        response = client.post("/cart/add/", {"product": product.pk})
        assert SESSION_COOKIE in response.cookies and "no-store" in response.headers["Cache-Control"]


class TestHttpsProfile:
    def run(self, *args):
        # As an operator would run it: without the live-server tests' async override.
        inherited = {key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"}
        env = {
            **inherited,
            "ENV_FILE": "/dev/null",
            "HTTPS": "true",
            "DEBUG": "false",
            "SECRET_KEY": "k3y-" + "x7Qp9zR2mW4vB8nL" * 4,
            "ALLOWED_HOSTS": "shop.example",
        }
        return subprocess.run(
            [sys.executable, "manage.py", *args], env=env, capture_output=True, text=True, cwd=django_settings.BASE_DIR
        )

    def test_check_deploy_reports_nothing(self):
        result = self.run("check", "--deploy", "--fail-level", "DEBUG")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "no issues" in result.stdout

    def test_cookies_get_the_host_prefix_and_secure(self):
        result = self.run(
            "shell",
            "-v",
            "0",
            "-c",
            "from django.conf import settings as s; print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, "
            "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT, "
            "s.SESSION_SAME_SITE_COOKIE_NAME)",
        )
        assert result.stdout.split() == [
            "__Host-sessionid",
            "__Host-csrftoken",
            "True",
            "True",
            "31536000",
            "True",
            "__Host-sessionid_same_site",
        ]

    def test_the_messages_cookie_gets_the_host_prefix_too(self):
        result = self.run(
            "shell",
            "-v",
            "0",
            "-c",
            "from django.conf import settings as s; from django.utils.module_loading import import_string; "
            "print(import_string(s.MESSAGE_STORAGE).cookie_name, s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_DOMAIN)",
        )
        # CookieStorage takes Secure and Domain from the session cookie's settings.
        assert result.stdout.split() == ["__Host-messages", "True", "None"], result.stderr
