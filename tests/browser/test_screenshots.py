"""The README's screenshots of the catalog, taken from the seeded demo shop at desktop and phone widths.

`make screenshots` sets SCREENSHOT_DIR=docs/img and so rewrites docs/img/catalog-desktop.png and
docs/img/catalog-phone.png; in the ordinary suite they go to a temporary directory, which still
proves the pages render as pictures of a shop.
"""

import os
from pathlib import Path

import pytest
from django.core.management import call_command
from PIL import Image
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = {"catalog-desktop.png": (1280, 800), "catalog-phone.png": (390, 844)}


@pytest.mark.parametrize("name", SHOTS)
def test_catalog_screenshot(page: Page, live_server, tmp_path, name):
    call_command("seed_demo", verbosity=0)
    width, height = SHOTS[name]
    page.set_viewport_size({"width": width, "height": height})
    page.emulate_media(color_scheme="light", reduced_motion="reduce")
    page.goto(live_server.url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Catalog")
    expect(page.get_by_test_id("product-cedar-notebook")).to_be_visible()

    target = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=target)  # the first screenful, as a visitor sees it

    with Image.open(target) as image:
        assert image.size == (width, height)
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 16) or range(1 << 16)) > 50  # a picture, not a blank
