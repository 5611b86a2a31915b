"""The second browser engine: Firefox ESR (Debian's firefox-esr) over WebDriver BiDi.

Each journey is a node script (tests/browser/firefox/journeys.mjs, puppeteer-core
pinned in package-lock.json, no browser download) run against the live server;
it checks every page it passes with axe-core and for sideways scroll at 360 px.
"""

import json
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from cart.models import Order
from tests.factories import PASSWORD, ProductFactory, UserFactory

FIREFOX = Path("/usr/bin/firefox-esr")
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not FIREFOX.exists(), reason="needs firefox-esr: scripts/ensure-firefox.sh"),
]

JOURNEYS = Path(__file__).resolve().parent / "firefox" / "journeys.mjs"
IDLE, WARN_BEFORE, SLACK = 12, 8, 5  # seconds, as in test_session_lifecycle.py


def run(journey: str, live_server, **env) -> list[str]:
    """Run one journey in Firefox; return what went wrong (nothing, when it passes)."""
    environment = {**os.environ, "BASE": live_server.url, "PASSWORD": PASSWORD, **env}
    finished = subprocess.run(
        [shutil.which("node"), str(JOURNEYS), journey],
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout.strip().splitlines()[-1])["problems"]


def test_browse_add_register_cart_carried_checkout_and_sign_out(live_server):
    mug = ProductFactory(name="Basalt Mug", slug="basalt-mug", price=Decimal("12.50"), stock=20)
    assert run("core", live_server, SLUG=mug.slug, NAME=mug.name, USERNAME="fern") == []
    order = Order.objects.get(user__username="fern")
    assert [(line.product_name, line.quantity) for line in order.lines.all()] == [("Basalt Mug", 1)]


def test_the_idle_warning(live_server, settings):
    settings.SESSION_IDLE_TIMEOUT = IDLE
    settings.SESSION_WARNING_BEFORE = WARN_BEFORE
    user = UserFactory(username="gale")
    warning_ms = (IDLE - WARN_BEFORE + 1 + SLACK) * 1000
    assert run("idle", live_server, USERNAME=user.username, WARNING_MS=str(warning_ms)) == []
