"""Guessing session IDs, and filling the disk while doing it.

The attacker runs a script that presents made-up session IDs (or old, expired ones)
as fast as it can: from one address, from an IPv6 host that picks a new address in
its /64 for every request, or from many addresses at once. Keys of 165 random bits
are not found; the burst alerts staff once per window (counted per network), and
the audit trail keeps one row per address and minute, at most GUESSING_ROWS
addresses a window, so the flood writes a bounded number of rows. The victim's
session is untouched.
"""

import secrets
import string

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.monitoring import security
from tests.conftest import SESSION_COOKIE, is_signed_in
from tests.factories import SessionFactory

pytestmark = pytest.mark.django_db

STAFF = "security@shop.example"
KEY_ALPHABET = string.ascii_lowercase + string.digits  # what Django's session keys are made of
ATTACKER_NETWORK = "2001:db8:bad:1::"  # one subscriber's /64


@pytest.fixture(autouse=True)
def admins(settings):
    settings.ADMINS = [("Security", STAFF)]


def staff_alerts(mailoutbox):
    return [mail for mail in mailoutbox if mail.to == [STAFF]]


def guess(times, ip="203.0.113.9", key=lambda n: f"{n:032d}"):
    """Present `times` made-up session IDs from `ip` (a callable: a new address each time); how many signed in."""
    landed = 0
    for n in range(times):
        guesser = Client(REMOTE_ADDR=ip(n) if callable(ip) else ip)
        guesser.cookies[SESSION_COOKIE] = key(n)
        landed += is_signed_in(guesser)
    return landed


def guessed_rows():
    return AuditEvent.objects.filter(event="session_use_after_expire")


def test_random_keys_find_no_session_and_the_victim_stays_signed_in(signed_in, mailoutbox):
    victim_key = signed_in.cookies[SESSION_COOKIE].value
    assert guess(50, key=lambda n: "".join(secrets.choice(KEY_ALPHABET) for _ in range(32))) == 0
    assert guess(1, key=lambda n: victim_key[:-1] + ("a" if victim_key[-1] != "a" else "b")) == 0  # one char off
    [alert] = staff_alerts(mailoutbox)
    assert "Burst of unknown session IDs from 203.0.113.9" in alert.subject
    assert is_signed_in(signed_in)


def test_burst_of_unknown_ids_from_one_address_alerts_once(mailoutbox):
    guess(19)
    assert staff_alerts(mailoutbox) == []
    guess(1)
    [mail] = staff_alerts(mailoutbox)
    assert "203.0.113.9" in mail.subject
    guess(30)
    assert len(staff_alerts(mailoutbox)) == 1  # throttled


def test_a_flood_of_unknown_ids_writes_one_row_per_address_and_window(mailoutbox, clock):
    """Rows are bounded per address and window: 2,000 random cookies once wrote 2,000 rows."""
    guess(200)
    [row] = guessed_rows()
    assert (row.ip, row.details) == ("203.0.113.9", {"known": False, "count": 200})
    assert len(staff_alerts(mailoutbox)) == 1  # the alert stays
    clock.shift(61)
    guess(1)
    assert guessed_rows().count() == 2


def test_many_addresses_cannot_add_rows_without_bound(monkeypatch, clock):
    monkeypatch.setattr(security, "GUESSING_ROWS", 3)
    for n in range(10):
        guess(2, ip=f"2001:db8::{n}")
    rows = guessed_rows()
    assert rows.count() == 4  # three addresses, then one shared row
    assert rows.get(ip__isnull=True).details["count"] == 14
    assert sum(row.details["count"] for row in rows) == 20


def test_an_ipv6_host_cycling_its_64_is_one_burst(mailoutbox, clock):
    guess(20, ip=lambda n: f"{ATTACKER_NETWORK}{n + 1:x}")  # a new address for every guess
    [alert] = staff_alerts(mailoutbox)
    assert "Burst of unknown session IDs" in alert.subject
    assert guessed_rows().count() == 20  # each address its row, within GUESSING_ROWS


def test_the_shared_overflow_row_raises_no_alert_for_strangers(monkeypatch, mailoutbox, clock):
    """The burst is counted per network, never in the overflow row: many shoppers' stale cookies are no burst."""
    monkeypatch.setattr(security, "GUESSING_ROWS", 1)
    for n in range(40):
        guess(1, ip=f"198.51.100.{n + 1}")
    assert guessed_rows().get(ip__isnull=True).details["count"] == 39
    assert staff_alerts(mailoutbox) == []


def test_window_passes_and_counting_starts_again(mailoutbox, clock):
    guess(15)
    clock.shift(61)
    guess(15)
    assert staff_alerts(mailoutbox) == []


def test_different_addresses_are_counted_apart(mailoutbox):
    guess(10, ip="203.0.113.1")
    guess(10, ip="203.0.113.2")
    assert staff_alerts(mailoutbox) == []


def test_expired_ids_count_toward_guessing_too(mailoutbox, settings):
    settings.GUESSING_THRESHOLD = 3
    for n in range(3):
        SessionFactory(key=f"expired{n:025d}", expire_date=timezone.now() - timezone.timedelta(seconds=1))
    guess(3, ip="203.0.113.50", key=lambda n: f"expired{n:025d}")
    assert len(staff_alerts(mailoutbox)) == 1
    assert guessed_rows().filter(details__known=True).count() == 3
