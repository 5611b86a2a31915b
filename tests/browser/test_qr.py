"""The MFA enrolment QR code scans at the size the page shows it, on a phone and a desktop."""

import io
from urllib.parse import parse_qs, urlparse

import pytest
import zxingcpp
from django_otp.plugins.otp_totp.models import TOTPDevice
from PIL import Image
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(("width", "height"), [(360, 740), (390, 844), (1280, 800)])
def test_enrolment_qr_decodes_to_the_otpauth_uri_of_the_key_on_the_page(page: Page, live_server, width, height):
    UserFactory(username="quinn")
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{live_server.url}/accounts/login/?next=/accounts/mfa/")
    page.get_by_label("Username").fill("quinn")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/accounts/mfa/")

    qr = page.locator(".qr svg")
    box = qr.bounding_box()
    assert 150 <= box["width"] <= width - 32 and box["width"] == pytest.approx(box["height"]), box  # square, on screen
    # Screenshot at the displayed size (device scale 1): what a phone camera pointed at the screen gets.
    image = Image.open(io.BytesIO(qr.screenshot()))
    (barcode,) = zxingcpp.read_barcodes(image)
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    # It scales with its box (a viewBox, not a fixed size): the code sits in the middle of what
    # is shown, with the same quiet zone (4 of its modules) on every side, none of it clipped.
    corners = barcode.position
    left, right = min(corners.top_left.x, corners.bottom_left.x), max(corners.top_right.x, corners.bottom_right.x)
    top, bottom = min(corners.top_left.y, corners.top_right.y), max(corners.bottom_left.y, corners.bottom_right.y)
    margins = [left, image.width - right, top, image.height - bottom]
    assert max(margins) - min(margins) <= 3 and min(margins) >= 0.05 * image.width, (margins, image.size)

    uri = barcode.text
    secret = page.locator("[data-otp-secret]").inner_text().strip()
    assert uri == TOTPDevice.objects.get(user__username="quinn", confirmed=False).config_url
    assert urlparse(uri).scheme == "otpauth"
    assert parse_qs(urlparse(uri).query)["secret"] == [secret.rstrip("=")]
