"""The session cache failing: Redis down, or frozen while sessions end.

The attacker needs no access: Redis going down (a crash, a restart, a network
split, or an attacker flooding it) is the attack, and what they hope for is a 500
for every shopper, or a session the owner ended served again from a copy once
Redis returns. Redis here is a real one, configured as shopdemo.settings configures
a `CACHE_URL` of redis:// with SESSION_CACHED=true, and then stopped or frozen.
Any backend's error is a miss; no session row is ever copied; the copies and
stamps that are kept expire within 300 s, and every other key has a lifetime too.
"""

import logging
import signal

import pytest
import redis
from django.test import Client

from accounts.sessions import elsewhere
from cart.models import Order
from shopdemo import cache as copies
from tests.conftest import SESSION_COOKIE, confirm_it_is_me, is_signed_in, sign_in
from tests.factories import UserFactory
from tests.servers import free_port, start_redis, stop

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"


class Redis:
    """A redis-server of this test's own, which the test may stop or freeze."""

    def __init__(self):
        self.port = free_port()
        self.process = start_redis(self.port)
        self.client = redis.Redis(port=self.port)

    def settings(self) -> dict:
        """CACHES as shopdemo.settings makes them for CACHE_URL=redis://… and SESSION_CACHED=true."""
        options = {"SOCKET_CONNECT_TIMEOUT": 0.25, "SOCKET_TIMEOUT": 0.25, "IGNORE_EXCEPTIONS": True}
        default = {
            "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{self.port}/0",
            "OPTIONS": options,
        }
        return {"default": default, "copies": {**default, "OPTIONS": {**options, "IGNORE_EXCEPTIONS": False}}}


@pytest.fixture
def server(settings):
    running = Redis()
    settings.SESSION_CACHED = True
    settings.DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    settings.CACHES = {**settings.CACHES, **running.settings()}
    yield running
    running.process.send_signal(signal.SIGCONT)
    stop(running.process)


def shop_as_a_shopper(browser: Client, product) -> list[int]:
    """What a shopper does from the catalog to an order; every answer's status."""
    statuses = [browser.get(path).status_code for path in ("/", f"/products/{product.slug}/", "/cart/summary/")]
    statuses.append(browser.post("/cart/add/", {"product": product.pk, "quantity": 2}).status_code)
    statuses.append(sign_in(browser).status_code)
    statuses += [browser.get(path).status_code for path in ("/", "/cart/", "/accounts/", "/accounts/sessions/")]
    statuses.append(browser.post("/checkout/", {"address": "1 Main St"}).status_code)
    statuses.append(browser.get("/orders/").status_code)
    return statuses


def test_with_redis_down_shopping_works_and_a_sign_out_still_ends_the_session(server, user, product, caplog):
    stop(server.process)  # down before the first request: connections are refused
    browser = Client(HTTP_USER_AGENT=BROWSER)
    with caplog.at_level(logging.WARNING):
        statuses = shop_as_a_shopper(browser, product)
        assert all(status < 500 for status in statuses), statuses
        assert is_signed_in(browser)
        assert Order.objects.filter(user=user).count() == 1  # the checkout went through
        key = browser.cookies[SESSION_COOKIE].value
        assert browser.post("/accounts/logout/").status_code == 302
    assert "cache unavailable" in caplog.text  # the operators are told
    attacker = Client(HTTP_USER_AGENT=BROWSER)
    attacker.cookies[SESSION_COOKIE] = key
    assert not is_signed_in(attacker)


def test_sessions_ended_while_redis_is_frozen_are_not_served_again_when_it_returns(server, user):
    laptop, phone = Client(HTTP_USER_AGENT=BROWSER), Client(HTTP_USER_AGENT="Phone/1.0")
    for device in (laptop, phone):
        sign_in(device)
        device.get("/")
        device.get("/cart/")  # the user's and the cart's copies are in Redis now
    assert server.client.keys("*shopdemo.user.*")
    laptop_key = laptop.cookies[SESSION_COOKIE].value
    confirm_it_is_me(phone)
    server.process.send_signal(signal.SIGSTOP)  # frozen with its data: what is sent now goes unanswered
    try:
        assert phone.post("/accounts/sessions/revoke-others/")["Location"] == "/accounts/sessions/"
        phone_key = phone.cookies[SESSION_COOKIE].value
        assert phone.post("/accounts/logout/").status_code == 302
    finally:
        server.process.send_signal(signal.SIGCONT)
    assert server.client.keys("*shopdemo.user.*")  # the copies made before the stall are back
    for key in (laptop_key, phone_key):
        attacker = Client(HTTP_USER_AGENT=BROWSER)
        attacker.cookies[SESSION_COOKIE] = key
        assert not is_signed_in(attacker)


def test_every_key_in_redis_has_a_lifetime_and_the_copies_at_most_300_s(server, user, product, settings):
    settings.ADMINS = [("Security", "security@shop.example")]
    shop_as_a_shopper(Client(HTTP_USER_AGENT=BROWSER), product)
    staff = Client()
    staff.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    staff.get("/admin/accounts/session/")
    phone = Client(HTTP_USER_AGENT="Phone/1.0")
    sign_in(phone)
    confirm_it_is_me(phone)
    phone.post("/accounts/sessions/revoke-others/")  # remembered why the others ended (accounts.sessions.elsewhere)
    for n in range(settings.GUESSING_THRESHOLD):  # an alert, throttled in the cache
        guesser = Client(REMOTE_ADDR="203.0.113.9")
        guesser.cookies[SESSION_COOKIE] = f"{n:032d}"
        guesser.get("/")
    lifetimes = {name.decode().removeprefix(":1:"): server.client.ttl(name) for name in server.client.keys("*")}
    assert {name: ttl for name, ttl in lifetimes.items() if ttl <= 0} == {}  # -1: a key that never expires
    kinds = {
        # shopdemo.cache: the user's, the carts' and the catalog's copies and their stamps
        "copy": (lambda name: name.startswith(("shopdemo.user.", "shopdemo.cart.", "shopdemo.catalog."))),
        "ended": (lambda name: name.startswith(elsewhere.KEY_PREFIX)),  # why a session ended, for its cookie
        "alert": (lambda name: name.startswith("alert:")),  # alert throttling
    }
    longest = {
        "copy": copies.TTL_MAX,
        "ended": settings.SESSION_REMEMBER_ABSOLUTE,
        "alert": settings.ALERT_THROTTLE_SECONDS,
    }
    kind_of = {name: next((kind for kind, test in kinds.items() if test(name)), None) for name in lifetimes}
    assert [
        name for name, kind in kind_of.items() if kind is None
    ] == []  # no key of another kind, a session's above all
    assert set(kind_of.values()) == set(kinds)
    assert {name: ttl for name, ttl in lifetimes.items() if ttl > longest[kind_of[name]]} == {}
