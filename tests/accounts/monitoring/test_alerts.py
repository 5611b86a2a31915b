"""Detection rules: each fires on its pattern, stays quiet on normal use, and is throttled."""

import socket

import pytest
from django.test import Client

from accounts.models import AuditEvent
from tests.conftest import SESSION_COOKIE, confirm_it_is_me, sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1"
)


@pytest.fixture(autouse=True)
def admins(settings):
    settings.ADMINS = [("Security", "security@shop.example")]


def admin_mails(mailoutbox):
    return [mail for mail in mailoutbox if mail.to == ["security@shop.example"]]


def test_normal_use_raises_no_alert(client, user, product, mailoutbox):
    client.post("/cart/add/", {"product": product.pk}, HTTP_USER_AGENT=FIREFOX)
    sign_in(client, HTTP_USER_AGENT=FIREFOX)
    client.get("/", HTTP_USER_AGENT=FIREFOX)
    client.post("/accounts/logout/", HTTP_USER_AGENT=FIREFOX)
    sign_in(client, HTTP_USER_AGENT=FIREFOX)
    assert mailoutbox == []
    assert not AuditEvent.objects.filter(event="security_alert").exists()


class TestHijack:
    def test_other_browser_alerts_admins_once_per_window(self, client, user, mailoutbox):
        sign_in(client, HTTP_USER_AGENT=FIREFOX)
        for _ in range(3):
            key = client.cookies[SESSION_COOKIE].value
            thief = Client(HTTP_USER_AGENT="curl/8")
            thief.cookies[SESSION_COOKIE] = key
            thief.get("/")
            sign_in(client, HTTP_USER_AGENT=FIREFOX)
        [mail] = admin_mails(mailoutbox)
        assert "presented by another browser" in mail.subject
        assert AuditEvent.objects.filter(event="session_hijack_suspected").count() == 3


class TestDistributedBruteForce:
    def test_failures_from_many_addresses_alert_without_locking_the_owner(self, client, user, mailoutbox):
        for n in range(5):
            sign_in(Client(REMOTE_ADDR=f"198.51.100.{n}"), password="wrong")
        [mail] = admin_mails(mailoutbox)
        assert "'alice' from 5 addresses" in mail.subject
        assert sign_in(client).status_code == 302  # the owner still signs in

    def test_failures_from_one_address_are_not_distributed(self, user, mailoutbox):
        for _ in range(4):
            sign_in(Client(), password="wrong")
        assert admin_mails(mailoutbox) == []


class TestLockout:
    def test_lockout_alerts_admins_once(self, client, user, mailoutbox):
        for _ in range(7):
            sign_in(client, password="wrong")
        [mail] = admin_mails(mailoutbox)
        assert "Sign-in locked for 'alice'" in mail.subject


class TestNewDevice:
    def test_sign_in_from_a_new_device_mails_the_user(self, user, mailoutbox):
        sign_in(Client(), HTTP_USER_AGENT=FIREFOX)
        assert mailoutbox == []  # the first sign-in has nothing to compare with
        sign_in(Client(), HTTP_USER_AGENT=FIREFOX.replace("140.0", "141.0"))
        assert mailoutbox == []  # a browser update is the same device
        sign_in(Client(), HTTP_USER_AGENT=IPHONE)
        [mail] = mailoutbox
        assert mail.to == [user.email]
        assert "Mobile Safari on iOS" in mail.subject
        assert "Was this you?" in mail.body and "http://testserver/accounts/sessions/" in mail.body
        assert AuditEvent.objects.filter(event="authn_new_device", user=user).count() == 1

    def test_new_device_alerts_are_throttled_per_user_and_device(self, user, mailoutbox):
        sign_in(Client(), HTTP_USER_AGENT=FIREFOX)
        for _ in range(3):
            sign_in(Client(), HTTP_USER_AGENT=IPHONE)
        assert len(mailoutbox) == 1

    def test_other_users_devices_do_not_count(self, user, mailoutbox):
        UserFactory(username="bob")
        sign_in(Client(), "bob", HTTP_USER_AGENT=IPHONE)
        sign_in(Client(), HTTP_USER_AGENT=FIREFOX)
        sign_in(Client(), HTTP_USER_AGENT=IPHONE)
        assert [mail.to for mail in mailoutbox] == [[user.email]]


def test_new_device_alerts_of_different_users_are_throttled_apart(user, mailoutbox):
    UserFactory(username="bob")
    for name in ["alice", "bob"]:
        sign_in(Client(), name, HTTP_USER_AGENT=FIREFOX)
        sign_in(Client(), name, HTTP_USER_AGENT=IPHONE)
    assert sorted(mail.to[0] for mail in mailoutbox) == ["alice@example.com", "bob@example.com"]


def test_a_growing_distributed_attack_mails_once(user, mailoutbox):
    for n in range(9):
        sign_in(Client(REMOTE_ADDR=f"198.51.100.{n}"), password="wrong")
    assert len(admin_mails(mailoutbox)) == 1


def test_a_broken_mail_relay_does_not_break_the_request(client, user, settings):
    # A real SMTP attempt at a closed port on this machine: the connection is refused.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port, 2
    sign_in(client)
    confirm_it_is_me(client)
    response = client.post("/accounts/email/", {"email": "alice@new.example"})
    assert response["Location"] == "/accounts/"
    # The change is held for the new address's link, whether or not the mails went out.
    user.refresh_from_db()
    assert user.email == "alice@example.com" and user.email_state.pending == "alice@new.example"


def test_alert_subjects_carry_the_site_prefix(client, user, mailoutbox):
    for _ in range(5):
        sign_in(client, password="wrong")
    assert admin_mails(mailoutbox)[0].subject.startswith("[shopdemo] ")
