"""Links in mail pointed elsewhere, and links read off the server's console.

An attacker who asks for a reset of the victim's account with a Host header of their
choosing (any name and port ALLOWED_HOSTS lets through) gets the victim's mail to link
to that host: one click and the token is theirs. With SITE_URL set, every mail link is
built from it. And with DEBUG off, console mail (the default EMAIL_URL) prints beside
the JSON log, so it is redacted like the log.
"""

import io
import subprocess
import sys

import pytest

from shopdemo import console_mail
from tests.conftest import sign_in
from tests.factories import CartFactory, CartItemFactory, ProductFactory

pytestmark = pytest.mark.django_db

SITE = "https://shop.example.com"
POISONED = {"HTTP_HOST": "localhost:6666"}  # allowed host, attacker's port


@pytest.fixture
def site_url(settings):
    settings.SITE_URL = SITE


def links(mail) -> list[str]:
    return [word for word in mail.body.split() if "://" in word]


def test_a_reset_asked_with_a_forged_host_still_links_to_the_site(client, user, site_url, mailoutbox):
    client.post("/accounts/password/reset/", {"email": user.email}, **POISONED)
    (mail,) = mailoutbox
    assert links(mail) and all(link.startswith(f"{SITE}/") for link in links(mail))
    assert "6666" not in mail.body and "6666" not in mail.alternatives[0][0]


def test_a_registration_with_a_forged_host_gets_a_confirmation_link_to_the_site(client, site_url, mailoutbox):
    data = {
        "username": "dana",
        "email": "dana@example.com",
        "password1": "x-Strong-pass-42",
        "password2": "x-Strong-pass-42",
    }
    client.post("/accounts/register/", data, **POISONED)
    (mail,) = mailoutbox
    assert any(link.startswith(f"{SITE}/accounts/email/verify/") for link in links(mail))
    assert "6666" not in mail.body


def test_an_order_placed_through_a_forged_host_mails_a_link_to_the_site(
    client, user, site_url, mailoutbox, django_capture_on_commit_callbacks
):
    CartItemFactory(cart=CartFactory(user=user), product=ProductFactory(stock=5), quantity=1)
    sign_in(client, user.username)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/checkout/", {"address": ""}, **POISONED)
    (mail,) = [m for m in mailoutbox if "order" in m.subject]
    assert any(link.startswith(f"{SITE}/orders/") for link in links(mail))


def test_without_site_url_links_use_the_requests_checked_host(client, user, mailoutbox):
    client.post("/accounts/password/reset/", {"email": user.email})
    assert all(link.startswith("http://testserver/") for link in links(mailoutbox[0]))


def test_console_mail_prints_reset_links_redacted(client, user, settings, mailoutbox):
    client.post("/accounts/password/reset/", {"email": user.email})
    (mail,) = mailoutbox
    assert "/accounts/password/reset/[redacted]" not in mail.body  # the mail itself carries the token
    stream = io.StringIO()
    console_mail.EmailBackend(stream=stream).send_messages([mail])
    printed = stream.getvalue()
    assert "/accounts/password/reset/[redacted]" in printed
    token_path = next(link for link in links(mail) if "/reset/" in link).split("testserver")[1]
    assert token_path not in printed


@pytest.mark.parametrize(
    ("debug", "email_url", "backend"),
    [
        ("false", "consolemail://", "shopdemo.console_mail.EmailBackend"),
        ("true", "consolemail://", "django.core.mail.backends.console.EmailBackend"),
        ("false", "smtp://mail.example.com:25", "django.core.mail.backends.smtp.EmailBackend"),
    ],
)
def test_console_mail_without_debug_is_the_redacting_one(debug, email_url, backend):
    env = {"ENV_FILE": "/dev/null", "DEBUG": debug, "EMAIL_URL": email_url, "SECRET_KEY": "x", "PATH": "/usr/bin"}
    code = "import django; django.setup(); from django.conf import settings; print(settings.EMAIL_BACKEND)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DJANGO_SETTINGS_MODULE": "shopdemo.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == backend
