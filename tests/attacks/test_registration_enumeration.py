"""Probing the registration form for which usernames are taken.

The attacker has a script and a list of handles; the form says "already
exists" for a taken one, as any registration form must. Attempts are counted
per network and hour (REGISTRATION_PER_IP_PER_HOUR) before the form answers:
past the limit every probe gets the same 429, which says nothing about the
name, and the first refused attempt is recorded. The accounts probed are
untouched, and other networks register as before.
"""

import re

import pytest
from django.test import Client

from accounts.flows import account
from accounts.models import AuditEvent
from accounts.views.account import MSG_REGISTER_THROTTLED
from tests.conftest import is_signed_in, sign_in

pytestmark = pytest.mark.django_db

PROBER = "203.0.113.7"
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def probe(client, username, ip=PROBER):
    # Mismatched passwords: the cheapest probe there is, and it still says whether the name is taken.
    return client.post(
        "/accounts/register/", {"username": username, "email": "", "password1": "x", "password2": "y"}, REMOTE_ADDR=ip
    )


def page_text(response) -> str:
    return CSRF_INPUT.sub("", response.content.decode())


def test_probes_past_the_hourly_limit_get_429_without_saying_whether_a_name_is_taken(client, user, settings, clock):
    settings.REGISTRATION_PER_IP_PER_HOUR = 3
    for _ in range(3):
        assert "already exists" in probe(client, "alice").content.decode()  # handles are public
    refused = probe(client, "alice")
    assert refused.status_code == 429
    page = page_text(refused)
    assert MSG_REGISTER_THROTTLED in page and "already exists" not in page
    assert page_text(probe(client, "nobody-by-this-name")) == page  # taken or free: one answer
    [burst] = AuditEvent.objects.filter(event=account.REGISTER_THROTTLED)
    assert burst.ip == PROBER and burst.details["attempts"] == 4
    probe(client, "bob")
    assert AuditEvent.objects.filter(event=account.REGISTER_THROTTLED).count() == 1  # one record a burst
    clock.shift(3600)
    assert probe(client, "carol").status_code != 429
    assert sign_in(Client()).status_code == 302  # the probed account is untouched


def test_other_addresses_are_not_throttled(settings):
    settings.REGISTRATION_PER_IP_PER_HOUR = 1
    probe(Client(), "x", ip="198.51.100.1")
    probe(Client(), "x", ip="198.51.100.1")
    assert probe(Client(), "x", ip="198.51.100.2").status_code != 429


def test_a_valid_registration_past_the_limit_creates_no_account(client, settings, django_user_model):
    """The limit holds for every attempt: a prober cannot learn a name is free by taking it."""
    settings.REGISTRATION_PER_IP_PER_HOUR = 2
    for name in ("probe1", "probe2"):
        probe(client, name)
    data = {"username": "freehandle", "email": "f@example.com", "password1": "x-Strong-pass-42"}
    refused = client.post("/accounts/register/", {**data, "password2": data["password1"]}, REMOTE_ADDR=PROBER)
    assert refused.status_code == 429
    assert not django_user_model.objects.filter(username="freehandle").exists() and not is_signed_in(client)
