"""Detection rules: each fires on its pattern, stays quiet on normal use, and is throttled."""

import socket

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.monitoring import security
from tests.conftest import SESSION_COOKIE, confirm_it_is_me, sign_in
from tests.factories import SessionFactory, UserFactory

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


class TestGuessing:
    def probe(self, times, ip="203.0.113.9"):
        for n in range(times):
            guesser = Client(REMOTE_ADDR=ip)
            guesser.cookies[SESSION_COOKIE] = f"{n:032d}"
            guesser.get("/")

    def test_burst_of_unknown_ids_from_one_address_alerts(self, mailoutbox):
        self.probe(19)
        assert admin_mails(mailoutbox) == []
        self.probe(1)
        [mail] = admin_mails(mailoutbox)
        assert "203.0.113.9" in mail.subject
        self.probe(30)
        assert len(admin_mails(mailoutbox)) == 1  # throttled

    def test_a_flood_of_unknown_ids_writes_one_row_per_address_and_window(self, mailoutbox, clock):
        """Rows are bounded per address and window: 2,000 random cookies once wrote 2,000 rows."""
        self.probe(200)
        [row] = AuditEvent.objects.filter(event="session_use_after_expire")
        assert (row.ip, row.details) == ("203.0.113.9", {"known": False, "count": 200})
        assert len(admin_mails(mailoutbox)) == 1  # the alert stays
        clock.shift(61)
        self.probe(1)
        assert AuditEvent.objects.filter(event="session_use_after_expire").count() == 2

    def test_many_addresses_cannot_add_rows_without_bound(self, monkeypatch, clock):
        monkeypatch.setattr(security, "GUESSING_ROWS", 3)
        for n in range(10):
            self.probe(2, ip=f"2001:db8::{n}")
        rows = AuditEvent.objects.filter(event="session_use_after_expire")
        assert rows.count() == 4  # three addresses, then one shared row
        assert rows.get(ip__isnull=True).details["count"] == 14
        assert sum(row.details["count"] for row in rows) == 20

    def test_window_passes_and_counting_starts_again(self, mailoutbox, time_machine):
        time_machine.move_to(timezone.now(), tick=False)
        self.probe(15)
        time_machine.shift(61)
        self.probe(15)
        assert admin_mails(mailoutbox) == []

    def test_different_addresses_are_counted_apart(self, mailoutbox):
        self.probe(10, ip="203.0.113.1")
        self.probe(10, ip="203.0.113.2")
        assert admin_mails(mailoutbox) == []


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


def test_expired_ids_count_toward_guessing_too(mailoutbox, settings):
    settings.GUESSING_THRESHOLD = 3
    for n in range(3):
        SessionFactory(key=f"expired{n:025d}", expire_date=timezone.now() - timezone.timedelta(seconds=1))
        guesser = Client(REMOTE_ADDR="203.0.113.50")
        guesser.cookies[SESSION_COOKIE] = f"expired{n:025d}"
        guesser.get("/")
    assert len(admin_mails(mailoutbox)) == 1
    assert AuditEvent.objects.filter(event="session_use_after_expire", details__known=True).count() == 3


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
