"""An attacker who tries to use up everyone's allowance of sign-ups, reset requests or guesses.

The throttles count per network (accounts/throttle.py): an IPv4 address, an IPv6 /64.
"""

import pytest
from django.test import Client, RequestFactory

from accounts import throttle
from accounts.models import ThrottleCount
from accounts.views.account import MSG_REGISTER_THROTTLED

pytestmark = pytest.mark.django_db

ABUSER_NETWORK = "2001:db8:bad:1::"  # one subscriber's /64: its host picks any address in it


def register(ip: str):
    # An invalid form: no password hashing, the cheapest attempt there is.
    return Client().post("/accounts/register/", {"username": "x", "password1": "a", "password2": "b"}, REMOTE_ADDR=ip)


def shoppers() -> list[str]:
    """200 first-time shoppers: IPv4 addresses and other IPv6 networks, the abuser's neighbour /64 among them."""
    return (
        [f"198.51.100.{n}" for n in range(1, 101)] + [f"2001:db8:{n:x}::1" for n in range(99)] + ["2001:db8:bad:2::1"]
    )


def test_registration_from_200_addresses_throttles_only_the_abusive_one(settings):
    settings.REGISTRATION_PER_IP_PER_HOUR = 10
    abused = [register(f"{ABUSER_NETWORK}{n:x}") for n in range(66)]  # a new address each time
    assert [answer.status_code for answer in abused].count(429) == 56
    assert MSG_REGISTER_THROTTLED in abused[-1].content.decode()
    answers = {ip: register(ip).status_code for ip in shoppers()}
    assert len(answers) == 200
    assert {ip: status for ip, status in answers.items() if status == 429} == {}
    assert register(f"{ABUSER_NETWORK}ffff").status_code == 429  # still held back, whatever its address


def test_reset_requests_from_one_network_leave_others_theirs(settings, mailoutbox):
    settings.PASSWORD_RESET_PER_IP_PER_HOUR = 3
    for n in range(10):
        Client().post("/accounts/password/reset/", {"email": f"n{n}@example.com"}, REMOTE_ADDR=f"{ABUSER_NETWORK}{n}")
    assert throttle.hit("reset", request=RequestFactory().get("/", REMOTE_ADDR="198.51.100.7"), window=3600) == 1


def test_the_counters_take_bounded_room_however_many_addresses_come(clock):
    factory = RequestFactory()
    for hour in range(2):
        for n in range(10_000):
            throttle.hit("register", request=factory.get("/", REMOTE_ADDR=f"2001:db8:{n:x}::1"), window=3600)
        clock.shift(3600)
    assert ThrottleCount.objects.filter(scope="register").count() <= throttle.ROWS * throttle.BUCKETS
