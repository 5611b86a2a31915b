"""Faults, as operators meet them: Redis dying in cached mode, PostgreSQL restarting.

The site runs as in production (gunicorn, DEBUG=false) against the test
database on the throwaway PostgreSQL cluster of `make test-postgres`, which
these tests stop and start. Loopback only; every loop is bounded.
"""

import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection, transaction

from cart.models import CartItem, Order, Product
from shopdemo.views import MSG_BUSY
from tests.factories import PASSWORD, ProductFactory
from tests.servers import (
    WAIT_SECONDS,
    free_port,
    pg_ctl,
    redis_keys,
    server_user,
    signed_in_browser,
    start_redis,
    wait_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_redis_killed_mid_run_in_cached_mode_serves_from_the_database(serve):
    server_user("alice")
    redis_port = free_port()
    redis = start_redis(redis_port)
    url = serve(SESSION_CACHED="true", CACHE_URL=f"redis://127.0.0.1:{redis_port}/0")
    try:
        browser = signed_in_browser(url, "alice")
        assert all(browser.get(f"{url}/", timeout=5).status_code == 200 for _ in range(5))
        assert redis_keys(redis_port) > 0  # sessions are being cached
        redis.terminate()
        redis.wait(timeout=WAIT_SECONDS)
        for _ in range(20):
            response = browser.get(f"{url}/cart/", timeout=5)
            assert response.status_code == 200 and "Signed in as" in response.text
        redis = start_redis(redis_port)
        assert all(browser.get(f"{url}/", timeout=5).status_code == 200 for _ in range(5))
        assert redis_keys(redis_port) > 0  # caching resumed, no restart of the site
    finally:
        redis.terminate()
        redis.wait(timeout=WAIT_SECONDS)


@pytest.mark.skipif("SHOPDEMO_PG_DATA" not in os.environ, reason="needs the cluster of scripts/with-postgres.sh")
def test_postgres_restart_gives_a_friendly_503_then_recovers_without_restart(serve):
    server_user("alice")
    product = ProductFactory(stock=5)
    url = serve()
    browser = signed_in_browser(url, "alice")
    connection.close()
    pg_ctl("stop")
    try:
        for path in ["/", "/cart/", "/healthz"]:
            response = browser.get(f"{url}{path}", timeout=10)
            assert response.status_code == 503, path
        down = browser.get(f"{url}/", timeout=10)
        assert "We'll be right back" in down.text and down.headers["Retry-After"] == "30"
        adding = browser.post(
            f"{url}/cart/add/", {"product": product.pk, "csrfmiddlewaretoken": browser.cookies["csrftoken"]}, timeout=10
        )
        assert adding.status_code == 503
    finally:
        pg_ctl("start")
    wait_until(lambda: browser.get(f"{url}/healthz", timeout=5).status_code == 200, "recovery")
    page = browser.get(f"{url}/cart/", timeout=5)
    assert page.status_code == 200 and "Signed in as" in page.text
    assert browser.get(f"{url}/cart/summary/", timeout=5).json()["count"] == 0  # the failed add left no line


def test_a_row_locked_past_the_lock_timeout_gives_the_busy_page_in_time_and_commits_nothing_later(serve):
    server_user("alice")
    product = ProductFactory(stock=5)
    url = serve(DATABASE_LOCK_TIMEOUT="1", DATABASE_STATEMENT_TIMEOUT="2")
    browser = signed_in_browser(url, "alice")
    token = {"csrfmiddlewaretoken": browser.cookies["csrftoken"]}
    browser.post(f"{url}/cart/add/", {"product": product.pk, "quantity": 2, **token}, timeout=WAIT_SECONDS)
    browser.post(f"{url}/accounts/reauth/", {"password": PASSWORD, **token}, timeout=WAIT_SECONDS)
    health_checks = 0
    with ThreadPoolExecutor(max_workers=1) as pool, transaction.atomic():
        Product.objects.select_for_update().get(pk=product.pk)  # held for as long as an admin's slow edit
        started = time.monotonic()
        checkout = pool.submit(browser.post, f"{url}/checkout/", token, timeout=WAIT_SECONDS, allow_redirects=False)
        while not checkout.done():  # the health check answers at once throughout the wait
            assert requests.get(f"{url}/healthz", timeout=1).status_code == 200
            health_checks += 1
            time.sleep(0.1)  # polling the server we started, not timing the code under test
        answer = checkout.result()
        waited = time.monotonic() - started
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert MSG_BUSY in answer.text
    assert health_checks >= 5 and waited < 2  # the lock timeout's 1 s and the answer: far below the balancer's 30 s
    # The server answered from a rolled-back transaction: no thread of it is left to commit later.
    assert Order.objects.count() == 0
    assert Product.objects.get(pk=product.pk).stock == 5
    assert CartItem.objects.get(product=product).quantity == 2
