"""Playwright (pytest-playwright) setup for the real-browser tests.

The tests drive Debian's Chromium (/usr/bin/chromium, installed by
scripts/ensure-chromium.sh), not a Playwright-downloaded browser, headless and
with background networking switched off (the CI machine has no general internet
access).  Tests get a ``page`` fixture from pytest-playwright and should use
``live_server.url`` from pytest-django as their base URL.

Every test collected below this directory is marked ``browser`` automatically,
so ``pytest -m "not browser"`` skips them, and runs after every other test.
"""

import os
from pathlib import Path

import pytest

CHROMIUM_PATH = "/usr/bin/chromium"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

_BROWSER_TESTS_DIR = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def playwright(playwright):
    """Playwright's driver, with Django's async-safety check off for as long as it runs.

    Playwright's sync API marks its event loop as running in the main thread between
    its calls, for the driver's whole life; Django would then refuse every query the
    tests and the live server's fixtures make (SynchronousOnlyOperation), though
    nothing runs concurrently with them. The flag is set here, once a driver exists,
    and the browser tests run last (below), so every other test runs with Django's
    check on.
    """
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield playwright
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch Debian's Chromium when installed, else Playwright's own download."""
    args = {**browser_type_launch_args, "args": [*browser_type_launch_args.get("args", []), *CHROMIUM_ARGS]}
    if Path(CHROMIUM_PATH).exists():
        args["executable_path"] = CHROMIUM_PATH
    return args


def _is_browser_test(item) -> bool:
    return Path(item.path).resolve().is_relative_to(_BROWSER_TESTS_DIR)


def pytest_collection_modifyitems(config, items):
    # This hook sees the items of the whole session, not only this
    # directory's, so mark only the tests that live under tests/browser,
    # and run them after all the others (see the playwright fixture).
    for item in items:
        if _is_browser_test(item):
            item.add_marker(pytest.mark.browser)
    items.sort(key=_is_browser_test)
