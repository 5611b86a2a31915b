"""Passkeys in a real browser, with Chromium's virtual authenticator (DevTools' WebAuthn domain).

The authenticator stands in for a phone's or laptop's built-in one: CTAP2 over the
internal transport, holding discoverable credentials, verifying its user (as a
fingerprint would) and answering at once. WebAuthn needs a secure context and an
RP ID that matches the page, so the pages come from the live server on localhost
(a secure context over plain HTTP), never 127.0.0.1.

Every page is watched for Content-Security-Policy violations and script errors:
django-otp-webauthn's script and the JSON configuration it reads must work under
the site's CSP (no inline script).
"""

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from django_otp_webauthn.models import WebAuthnCredential
from playwright.sync_api import Page, expect

from accounts.flows import passkeys
from tests.browser.axe import axe_violations, horizontal_overflow, install_axe
from tests.conftest import SESSION_COOKIE
from tests.factories import PASSWORD, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

VIRTUAL_AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


@pytest.fixture
def base(live_server) -> str:
    # A port of its own, never 8000: the settings' origin rule must accept it as it stands.
    assert live_server.url.startswith("http://localhost:") and not live_server.url.endswith(":8000")
    return live_server.url


@pytest.fixture
def problems(page: Page) -> list[str]:
    """Script errors and CSP violations seen by the page; each test ends by asserting there were none."""
    seen = []
    page.on("pageerror", lambda error: seen.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            seen.append(message.text) if message.type == "error" and "Content Security Policy" in message.text else None
        ),
    )
    return seen


@pytest.fixture
def authenticator(page: Page) -> dict:
    """A virtual platform authenticator attached to the page's browser; returns its CDP handle and id."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": VIRTUAL_AUTHENTICATOR})
    yield {"cdp": cdp, "id": added["authenticatorId"]}
    cdp.send("WebAuthn.disable")


def credentials(authenticator) -> list[dict]:
    return authenticator["cdp"].send("WebAuthn.getCredentials", {"authenticatorId": authenticator["id"]})["credentials"]


def sign_in_with_password(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_test_id("auth-state")).to_have_text(f"Signed in as {username}")


def sign_in_with_password_only(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def sign_out(page: Page) -> None:
    page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    expect(page.get_by_test_id("auth-state")).to_have_text("Guest")


def add_passkey(page: Page, base: str, name: str) -> list[str]:
    """From the account page to a new (first) passkey named `name`; return the recovery codes it came with."""
    page.goto(f"{base}/accounts/")
    page.get_by_role("link", name="Add a passkey").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign-in security")
    expect(page.get_by_test_id("no-passkeys")).to_be_visible()
    page.get_by_label("Name for a new passkey").fill(name)
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("status")).to_contain_text(f"Passkey “{name}” added")
    # The first second factor turns two-step sign-in on, and its recovery codes are shown at once.
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-step sign-in is on")
    codes = page.get_by_test_id("recovery-codes").locator("code").all_inner_texts()
    assert len(codes) == 10
    page.goto(f"{base}/accounts/mfa/")
    expect(page.get_by_test_id("passkey-name")).to_have_text([name])
    return codes


def passkey_sign_in(page: Page, base: str, *, next_path: str = "/") -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.get_by_role("button", name="Sign in with a passkey").click()


def test_register_a_passkey_then_sign_in_with_it_and_no_password(page, base, authenticator, problems):
    user = UserFactory(username="pia")
    sign_in_with_password(page, base, user.username)
    codes = add_passkey(page, base, "Pia's laptop")
    passkey = WebAuthnCredential.objects.get(user=user)
    assert passkey.name == "Pia's laptop" and passkey.discoverable
    expect(page.get_by_test_id("passkey")).to_contain_text("never used yet")
    # The credential lives in the authenticator, discoverable and tied to this RP ID.
    [held] = credentials(authenticator)
    assert held["isResidentCredential"] and held["rpId"] == "localhost"
    page.goto(f"{base}/accounts/")
    expect(page.get_by_test_id("mfa-state")).to_contain_text("On: after your password, signing in needs your passkey")
    sign_out(page)

    # A password sign-in now needs the passkey, or a recovery code typed with letters on a phone keyboard.
    sign_in_with_password_only(page, base, user.username)
    expect(page.get_by_role("heading", level=1)).to_have_text("Use your passkey")
    code = page.get_by_label("Code")
    expect(code).to_have_attribute("inputmode", "text")
    expect(code).to_have_attribute("autocomplete", "one-time-code")
    code.fill(codes[0])
    page.get_by_role("button", name="Verify and sign in").click()
    expect(page.get_by_test_id("auth-state")).to_have_text("Signed in as pia")
    sign_out(page)

    passkey_sign_in(page, base, next_path="/orders/")
    expect(page).to_have_url(f"{base}/orders/")
    expect(page.get_by_test_id("auth-state")).to_have_text("Signed in as pia")
    expect(page.get_by_role("status")).to_contain_text("Welcome back, pia.")

    # The devices page and the session inspector say how this session was signed in.
    page.get_by_role("link", name="Devices").click()
    expect(page.get_by_test_id("auth-method")).to_have_text("Signed in with passkey")
    page.get_by_role("link", name="Your session").click()
    expect(page.get_by_test_id("auth-method")).to_have_text("Signed in with passkey")
    page.goto(f"{base}/accounts/mfa/")
    expect(page.get_by_test_id("passkey")).to_contain_text("last used")
    assert problems == []


def test_a_passkey_the_server_refuses_says_why_in_words(page, base, authenticator, problems, settings, monkeypatch):
    # A shop configured for another address than the page's: the browser makes the credential,
    # the server refuses it, and the page says why instead of failing silently.
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = ["https://shop.example.com"]
    monkeypatch.setattr(passkeys, "LOCAL_ORIGIN", re.compile("(?!)"))
    user = UserFactory(username="rae")
    sign_in_with_password(page, base, user.username)
    page.goto(f"{base}/accounts/mfa/")
    page.get_by_label("Name for a new passkey").fill("Laptop")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_test_id("passkey-status")).to_have_text(passkeys.REFUSALS["foreign_origin"])
    assert not WebAuthnCredential.objects.filter(user=user).exists()
    assert problems == []


def test_a_guest_cart_is_carried_over_at_a_passkey_sign_in(page, base, authenticator, problems):
    user = UserFactory(username="quinn")
    mug = ProductFactory(name="Basalt Mug", slug="basalt-mug", price=Decimal("12.50"), stock=20)
    sign_in_with_password(page, base, user.username)
    add_passkey(page, base, "Phone")
    sign_out(page)

    page.goto(f"{base}/products/{mug.slug}/")
    page.get_by_test_id(f"add-{mug.slug}").click()
    expect(page.get_by_test_id("cart-badge")).to_have_text("1")
    guest_key = next(c["value"] for c in page.context.cookies() if c["name"] == SESSION_COOKIE)

    passkey_sign_in(page, base, next_path="/cart/")
    expect(page).to_have_url(f"{base}/cart/")
    expect(page.get_by_test_id("auth-state")).to_have_text("Signed in as quinn")
    expect(page.get_by_test_id("cart-badge")).to_have_text("1")
    expect(page.get_by_role("row", name=re.compile("Basalt Mug"))).to_be_visible()
    # A sign-in like any other: a new session key.
    assert next(c["value"] for c in page.context.cookies() if c["name"] == SESSION_COOKIE) != guest_key
    assert problems == []


def test_re_authenticate_with_the_passkey_before_placing_an_order(
    page, base, authenticator, problems, time_machine, settings
):
    time_machine.move_to(timezone.now(), tick=True)
    install_axe(page.context)
    user = UserFactory(username="rosa")
    mug = ProductFactory(name="Basalt Mug", slug="basalt-mug", price=Decimal("12.50"), stock=20)
    sign_in_with_password(page, base, user.username)
    add_passkey(page, base, "Laptop")
    sign_out(page)
    passkey_sign_in(page, base)
    expect(page.get_by_test_id("auth-state")).to_have_text("Signed in as rosa")

    page.goto(f"{base}/products/{mug.slug}/")
    page.get_by_test_id(f"add-{mug.slug}").click()
    expect(page.get_by_test_id("cart-badge")).to_have_text("1")
    page.goto(f"{base}/checkout/")
    page.get_by_test_id("address").fill("Rosa Example\n3 Quay Street")
    # By the time the order is placed, the sign-in is too old to cover it.
    time_machine.shift(settings.REAUTH_WINDOW + 1)
    page.get_by_test_id("place-order").click()

    # One screen, at the same address, naming the action and its amount.
    expect(page).to_have_url(f"{base}/checkout/")
    expect(page.get_by_test_id("reauth-passkey-phrase")).to_contain_text("Use your passkey to place this €17.40 order")
    # The account's second factor is the passkey: it comes first; password and recovery code are the way back.
    expect(page.get_by_role("button", name="Confirm with a passkey")).to_be_visible()
    assert axe_violations(page, "re-authentication with a passkey") == []
    assert not user.orders.exists()
    # No second screen: once the passkey has confirmed, the order goes through.
    page.get_by_role("button", name="Confirm with a passkey").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/orders/[A-Z0-9]+/$"))
    expect(page.get_by_text("Delivering to:")).to_contain_text("3 Quay Street")
    assert user.orders.count() == 1
    assert problems == []


def test_a_removed_passkey_no_longer_signs_in(page, base, authenticator, problems):
    # On a small phone; each passkey page is also checked with axe-core and for sideways scroll.
    page.set_viewport_size({"width": 360, "height": 740})
    install_axe(page.context)
    seen = []

    def check(label):
        seen.extend(axe_violations(page, label))
        if horizontal_overflow(page):
            seen.append(f"{label}: {horizontal_overflow(page)} px sideways scroll")

    user = UserFactory(username="sam")
    sign_in_with_password(page, base, user.username)
    add_passkey(page, base, "Old phone")
    check("sign-in security with a passkey")

    page.get_by_role("link", name="Remove").click()
    # Removing a factor asks for one every time: the passkey itself, here.
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm it's you")
    page.get_by_role("button", name="Confirm with a passkey").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Remove the passkey “Old phone”?")
    check("remove confirmation")
    page.get_by_test_id("confirm-remove").click()
    expect(page.get_by_role("status")).to_contain_text("Passkey “Old phone” removed")
    expect(page.get_by_test_id("no-passkeys")).to_be_visible()
    assert not WebAuthnCredential.objects.exists()
    sign_out(page)

    # The authenticator still holds the credential; the site no longer knows it.
    assert len(credentials(authenticator)) == 1
    passkey_sign_in(page, base)
    status = page.get_by_test_id("passkey-status")
    expect(status).to_have_text(re.compile("not registered here"))
    # Styled as an error, as a form's errors are, not as grey hint text.
    error_color = page.evaluate(
        "() => { const probe = document.body.appendChild(document.createElement('div'));"
        " probe.className = 'field-error'; const color = getComputedStyle(probe).color; probe.remove(); return color; }"
    )
    expect(status).to_have_css("color", error_color)
    expect(page.get_by_test_id("auth-state")).to_have_text("Guest")
    check("sign-in, passkey refused")
    assert seen == []
    page.goto(f"{base}/orders/")
    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/accounts/login/"))
    assert problems == []


def order_as_guest(page: Page, base: str, email: str) -> str:
    """Add a mug and check out as a guest with `email`; return the order's number (its page is open)."""
    mug = ProductFactory(name="Basalt Mug", slug="basalt-mug", price=Decimal("12.50"), stock=20)
    page.goto(f"{base}/products/{mug.slug}/")
    page.get_by_test_id(f"add-{mug.slug}").click()
    expect(page.get_by_test_id("cart-badge")).to_have_text("1")
    page.goto(f"{base}/checkout/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Delivery address").fill("1 Quay Street")
    page.get_by_test_id("place-guest-order").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/orders/[A-Z0-9]+/$"))
    return page.url.rstrip("/").rsplit("/", 1)[1]


def test_a_guest_makes_the_account_from_the_order_page_with_a_passkey_and_no_password(
    page, base, authenticator, problems
):
    number = order_as_guest(page, base, "gwen@example.com")
    page.get_by_test_id("create-account").click()
    expect(page.get_by_label("Email")).to_have_value("gwen@example.com")
    page.get_by_label("Username").fill("gwen")
    page.get_by_role("button", name="Create account with a passkey").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create your passkey")
    assert not UserFactory._meta.model.objects.filter(username="gwen").exists()  # nothing before the passkey
    page.get_by_role("button", name="Create your passkey").click()

    # Signed in, on the order list (the order page's `next`), the order the account's own.
    expect(page).to_have_url(f"{base}/orders/")
    expect(page.get_by_test_id("auth-state")).to_have_text("Signed in as gwen")
    expect(page.get_by_role("status").first).to_contain_text("your passkey signs you in")
    expect(page.get_by_role("main")).to_contain_text(number)
    [held] = credentials(authenticator)
    assert held["isResidentCredential"] and held["rpId"] == "localhost"
    user = UserFactory._meta.model.objects.get(username="gwen")
    assert not user.has_usable_password() and WebAuthnCredential.objects.filter(user=user).exists()
    page.goto(f"{base}/accounts/")
    expect(page.get_by_test_id("password-state")).to_contain_text("None: your account signs in with a passkey.")
    expect(page.get_by_role("link", name="Set a password")).to_be_visible()

    # Later: the passkey alone signs in, with no username typed.
    sign_out(page)
    passkey_sign_in(page, base, next_path="/orders/")
    expect(page.get_by_test_id("auth-state")).to_have_text("Signed in as gwen")
    assert problems == []


def test_a_cancelled_passkey_makes_no_account_and_says_so(page, base, authenticator, problems):
    # The authenticator does not confirm its user (a cancelled fingerprint prompt): the browser gives no passkey.
    authenticator["cdp"].send(
        "WebAuthn.setUserVerified", {"authenticatorId": authenticator["id"], "isUserVerified": False}
    )
    page.goto(f"{base}/accounts/register/")
    page.get_by_label("Username").fill("gwen")
    page.get_by_label("Email").fill("gwen@example.com")
    page.get_by_role("button", name="Create account with a passkey").click()
    page.get_by_role("button", name="Create your passkey").click()
    expect(page.get_by_test_id("passkey-status")).to_have_text(
        "No passkey was made, so no account was created. Try again, or use a password instead."
    )
    assert not UserFactory._meta.model.objects.filter(username="gwen").exists()
    page.get_by_test_id("use-password").click()
    expect(page.get_by_label("Email")).to_have_value("gwen@example.com")
    expect(page.get_by_label("Password", exact=True)).to_be_visible()
    assert problems == []
