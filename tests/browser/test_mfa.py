"""MFA as a real browser meets it: enrol with an authenticator app, sign in with a code,
place an order through re-authentication, recovery codes.

The test plays the authenticator app: it reads the base32 secret off the enrolment page
and computes codes with pyotp. django-otp accepts a TOTP code once per 30-second time
step (replay protection, it remembers the last step used) and tolerates one step of clock
difference either way. So each code below is chosen for a step that no earlier code of the
test can have used:

- enrolment uses the current step t0;
- sign-in uses ``at(now + 30)``: step t0 + 1 at least, always later than t0, and never
  more than one step ahead of the server's clock;
- re-authentication uses a recovery code, which has no time step at all (and proves the
  recovery codes work), instead of betting on which 30-second window the test is in.

A wrong code makes django-otp throttle the user's devices for OTP_*_THROTTLE_FACTOR (1 s)
seconds: a right code sent within that second is refused too. Where a test sends a right
code after a wrong one, it waits for that second to pass, as a person retyping would.
"""

import re
import time

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import SESSION_COOKIE
from tests.factories import PASSWORD, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

OTP_PATH = "/accounts/login/otp/"
REAUTH_PATH = "/accounts/reauth/"
# django-otp's throttle after one wrong code is 1 s (factor 1 × 2**0); a little slack.
THROTTLE_MS = 1300


def _session_cookie(page: Page) -> str | None:
    return next((c["value"] for c in page.context.cookies() if c["name"] == SESSION_COOKIE), None)


def _url(base: str, path: str) -> re.Pattern:
    """The page's URL is `path`, whatever the query string."""
    return re.compile(rf"^{re.escape(base + path)}(\?.*)?$")


def _password_step(page: Page, base: str, username: str, *, next_path: str = "/") -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def _sign_out(page: Page) -> None:
    page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    expect(page.get_by_test_id("auth-state")).to_have_text("Guest")


def _wrong_code(totp: pyotp.TOTP) -> str:
    """A six-digit code that is valid in none of the steps the server could accept now."""
    now = time.time()
    near = {totp.at(now + offset) for offset in range(-90, 120, 30)}
    return next(code for code in (f"{n:06d}" for n in range(123456, 10**6, 111111)) if code not in near)


def _enrol(page: Page, base: str) -> tuple[str, list[str]]:
    """From the account page, turn MFA on; return the secret and the recovery codes."""
    page.goto(f"{base}/accounts/")
    mfa_panel = page.locator("section", has=page.get_by_role("heading", name="Two-step sign-in"))
    expect(mfa_panel.get_by_test_id("mfa-state")).to_contain_text("Off")
    mfa_panel.get_by_role("link", name="Turn it on").click()

    expect(page).to_have_url(f"{base}/accounts/mfa/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign-in security")
    expect(page.locator(".qr svg")).to_be_visible()
    secret_box = page.locator("[data-otp-secret]")
    expect(secret_box).to_have_text(re.compile(r"^\s*[A-Z2-7]{16,}=*\s*$"))
    secret = secret_box.inner_text().strip()
    # On a phone: a tap opens the key in the app; beside it, a copy button.
    expect(page.get_by_test_id("otpauth-link")).to_have_attribute(
        "href", re.compile(rf"^otpauth://totp/.*secret={secret}")
    )
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page.get_by_role("button", name="Copy the key").click()
    expect(page.locator("[data-copy-status]")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == secret

    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()

    # The first second factor: two-step sign-in is on, and its recovery codes are shown at once.
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-step sign-in is on")
    expect(page.get_by_test_id("two-step-on")).to_contain_text("a code from your authenticator app")
    code_items = page.get_by_test_id("recovery-codes").locator("li")
    expect(code_items).to_have_count(10)
    codes = [text.strip() for text in code_items.all_inner_texts()]
    assert len(set(codes)) == 10 and all(codes), codes
    return secret, codes


def test_enrol_mfa_sign_out_sign_in_with_code_and_order_through_reauth(page: Page, live_server, settings):
    base = live_server.url
    user = UserFactory(username="erin")
    mug = ProductFactory(name="Basalt Mug", slug="basalt-mug", price="12.50", stock=20)

    # 1. Sign in with the password (no MFA yet) and enrol.
    _password_step(page, base, user.username)
    expect(page.get_by_test_id("auth-state")).to_have_text("Signed in as erin")
    secret, recovery_codes = _enrol(page, base)
    totp = pyotp.TOTP(secret)
    page.get_by_role("link", name="Back to your account").click()
    expect(page.get_by_test_id("mfa-state")).to_contain_text("On")

    # 2. Sign out; the password alone now leads to the code step, still a guest.
    _sign_out(page)
    _password_step(page, base, user.username)
    expect(page).to_have_url(_url(base, OTP_PATH))
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    expect(page.get_by_test_id("auth-state")).to_have_text("Guest")

    page.get_by_label("Code").fill(_wrong_code(totp))
    page.get_by_role("button", name="Verify and sign in").click()
    expect(page).to_have_url(_url(base, OTP_PATH))
    expect(page.get_by_role("alert")).to_contain_text("That code is not valid")
    expect(page.get_by_test_id("auth-state")).to_have_text("Guest")

    page.wait_for_timeout(THROTTLE_MS)  # django-otp's throttle after the wrong code
    # The next time step: the enrolment's step is spent (replay protection).
    page.get_by_label("Code").fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Verify and sign in").click()
    expect(page).to_have_url(f"{base}/")
    expect(page.get_by_test_id("auth-state")).to_have_text("Signed in as erin")
    expect(page.get_by_role("status")).to_contain_text("Welcome back, erin.")

    # 3. Order; by the time "Place order" is clicked the sign-in is too old to count.
    page.goto(f"{base}/products/{mug.slug}/")
    page.get_by_test_id(f"add-{mug.slug}").click()
    expect(page.get_by_test_id("cart-badge")).to_have_text("1")
    page.goto(f"{base}/checkout/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your order")
    address = "Erin Example\n12 Harbour Road\nGalway"
    page.get_by_test_id("address").fill(address)
    expect(page.get_by_test_id("cart-total")).to_have_text("€17.40")  # €12.50 and €4.90 shipping

    settings.REAUTH_WINDOW = 1
    page.wait_for_timeout(1500)  # a server-side window: let it pass
    page.get_by_test_id("place-order").click()

    # One screen, at the same address, naming the action and its amount, with a way back.
    expect(page).to_have_url(f"{base}/checkout/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm it's you")
    expect(page.get_by_test_id("reauth-phrase")).to_have_text(
        "Enter your password and a code from your authenticator app (or one of your recovery codes)"
        " to place this €17.40 order."
    )
    expect(page.get_by_test_id("reauth-back")).to_have_attribute("href", f"{base}/checkout/")
    # Nothing was ordered yet.
    assert not user.orders.exists()
    key_before = _session_cookie(page)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Code").fill(recovery_codes[0])
    page.get_by_role("button", name="Place this €17.40 order").click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/orders/[A-Z0-9]+/$"))
    number = page.url.rstrip("/").rsplit("/", 1)[1]
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {number}")
    assert _session_cookie(page) not in (None, key_before)  # re-authentication gives the session a new key
    expect(page.get_by_role("status")).to_contain_text(f"Thank you! Order {number} is placed.")
    expect(page.get_by_text("Delivering to:")).to_contain_text("12 Harbour Road")
    expect(page.get_by_text("Delivering to:")).to_contain_text("Galway")
    expect(page.get_by_test_id("order-total")).to_have_text("€17.40")
    expect(page.get_by_role("row", name=re.compile("Basalt Mug"))).to_contain_text("€12.50")
    expect(page.get_by_test_id("cart-badge")).to_have_text("0")
    order = user.orders.get()
    assert order.number == number
    assert order.address.replace("\r\n", "\n") == address

    page.get_by_role("link", name="Orders", exact=True).click()
    orders = page.locator("ul.orders > li")
    expect(orders).to_have_count(1)
    expect(orders.first).to_contain_text(f"Order {number}")
    expect(orders.first).to_contain_text("€17.40")

    # The recovery code spent on the re-authentication is gone: 9 left.
    page.goto(f"{base}/accounts/mfa/")
    expect(page.get_by_test_id("mfa-state")).to_contain_text("you have 9 unused recovery codes")


def test_recovery_code_works_once(page: Page, live_server):
    base = live_server.url
    user = UserFactory(username="frank")

    _password_step(page, base, user.username)
    expect(page.get_by_test_id("auth-state")).to_have_text("Signed in as frank")
    _secret, recovery_codes = _enrol(page, base)
    _sign_out(page)

    # A recovery code instead of the app's code signs in...
    _password_step(page, base, user.username)
    expect(page).to_have_url(_url(base, OTP_PATH))
    page.get_by_label("Code").fill(recovery_codes[3])
    page.get_by_role("button", name="Verify and sign in").click()
    expect(page).to_have_url(f"{base}/")
    expect(page.get_by_test_id("auth-state")).to_have_text("Signed in as frank")
    _sign_out(page)

    # ...once: the same code is refused the next time, and the visitor stays a guest.
    _password_step(page, base, user.username)
    expect(page).to_have_url(_url(base, OTP_PATH))
    page.get_by_label("Code").fill(recovery_codes[3])
    page.get_by_role("button", name="Verify and sign in").click()
    expect(page).to_have_url(_url(base, OTP_PATH))
    expect(page.get_by_role("alert")).to_contain_text("That code is not valid")
    expect(page.get_by_test_id("auth-state")).to_have_text("Guest")
    page.goto(f"{base}/orders/")
    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/accounts/login/"))
    expect(page.get_by_test_id("auth-state")).to_have_text("Guest")

    # Another, unused recovery code still works (after django-otp's throttle second).
    _password_step(page, base, user.username)
    expect(page).to_have_url(_url(base, OTP_PATH))
    page.wait_for_timeout(THROTTLE_MS)
    page.get_by_label("Code").fill(recovery_codes[4])
    page.get_by_role("button", name="Verify and sign in").click()
    expect(page.get_by_test_id("auth-state")).to_have_text("Signed in as frank")
    page.goto(f"{base}/accounts/mfa/")
    expect(page.get_by_test_id("mfa-state")).to_contain_text("you have 8 unused recovery codes")
