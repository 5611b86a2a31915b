"""Several app servers: HAProxy in front of two gunicorns, cached sessions on one Redis, one PostgreSQL.

Real processes on loopback (tests/servers.py start_cluster, the HAProxy config of
`make cluster`), one cluster for the module. Requests go through the balancer, or
straight to server a or b to pin them. The rotation test waits out a 3 s grace: a
gunicorn's clock cannot be moved from here, so the module configures short intervals.
"""

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests
from django.db import connection

from accounts.models import AuditEvent, Session
from cart.models import Order
from shopdemo.views import DATABASE_DOWN_RETRY_SECONDS
from tests.factories import PASSWORD, ProductFactory
from tests.servers import (
    ROOT,
    WAIT_SECONDS,
    kill,
    pg_ctl,
    server_user,
    signed_in_browser,
    start_cluster,
    stop,
    wait_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

USER_AGENT = "ShopdemoTests/1.0"  # what signed_in_browser sends; signed-in sessions are bound to it
ROTATE_INTERVAL, ROTATE_GRACE = 2, 3
ADDS, PARALLEL, GUESTS = 200, 16, 4


@pytest.fixture(scope="module")
def cluster(django_db_setup, tmp_path_factory):
    mail = tmp_path_factory.mktemp("mail")
    running = start_cluster(
        SESSION_ROTATE_INTERVAL=str(ROTATE_INTERVAL),
        SESSION_ROTATE_GRACE=str(ROTATE_GRACE),
        MAX_LINE_QUANTITY=str(ADDS),
        ADMINS="Ops <ops@example.com>",
        # An absolute path after filemail:// keeps its own slash (django-environ drops one).
        EMAIL_URL=f"filemail:///{mail}",
    )
    running.mail = mail
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def servers_environment(cluster, settings):
    # This process plays a manage.py command or a staff member on a third server: it shares
    # the servers' cache, so the users and products it changes are seen at once by both.
    settings.SESSION_CACHED = True
    cache = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": cluster.env["CACHE_URL"]}
    settings.CACHES = {**settings.CACHES, "default": {**settings.CACHES["default"], **cache}, "copies": cache}


def form(browser, **fields):
    return {"csrfmiddlewaretoken": browser.cookies["csrftoken"], **fields}


def signed_in(url, cookie=None, browser=None, user_agent=USER_AGENT) -> bool:
    """Whether server `url` takes the session as signed in, for a browser or for a bare session cookie."""
    status = f"{url}/accounts/session/status/"  # does not count as activity
    as_the_script_asks = {"Accept": "application/json"}  # static/js/session-timeout.js
    if browser is not None:
        answer = browser.get(status, headers=as_the_script_asks, timeout=WAIT_SECONDS)
    else:
        headers = {"Cookie": f"sessionid={cookie}", "User-Agent": user_agent, **as_the_script_asks}
        answer = requests.get(status, headers=headers, timeout=WAIT_SECONDS)
    return answer.json()["authenticated"]


def test_a_session_and_its_cart_are_the_same_on_both_servers(cluster):
    server_user("alice")
    product = ProductFactory(price="12.50", stock=100)
    browser = signed_in_browser(cluster.url, "alice")
    added = browser.post(f"{cluster.url}/cart/add/", form(browser, product=product.pk, quantity=3), timeout=30)
    assert added.status_code == 200 and added.url.endswith("/cart/")
    for name in ("a", "b", "a", "b"):
        summary = browser.get(f"{cluster.app_url(name)}/cart/summary/", timeout=WAIT_SECONDS).json()
        assert (summary["count"], summary["total"]) == (3, "37.50"), name
        assert signed_in(cluster.app_url(name), browser=browser), name


def test_an_old_key_rotated_on_a_is_served_by_b_within_the_grace_and_refused_after(cluster):
    server_user("bob")
    browser = signed_in_browser(cluster.app_url("a"), "bob")
    old_key = browser.cookies["sessionid"]

    def rotated_on_a():
        browser.get(f"{cluster.app_url('a')}/", timeout=WAIT_SECONDS)
        return browser.cookies["sessionid"] != old_key

    wait_until(rotated_on_a, "a rotation on server a")  # due ROTATE_INTERVAL after sign-in
    rotated_at = time.monotonic()
    assert (
        Session.objects.get(successor_key__isnull=False).expire_date
        > Session.objects.get(successor_key__isnull=True).created_at
    )  # the old key's row points at its successor, with a grace deadline
    assert signed_in(cluster.app_url("b"), cookie=old_key)
    # The one wait of the module: the grace must run out on the servers' own clocks.
    time.sleep(max(0.0, rotated_at + ROTATE_GRACE + 0.5 - time.monotonic()))
    assert not signed_in(cluster.app_url("b"), cookie=old_key)
    assert signed_in(cluster.app_url("b"), browser=browser)  # the new key still works


def test_signing_out_other_devices_on_a_is_refused_on_b_at_the_next_request(cluster):
    server_user("carol")
    laptop = signed_in_browser(cluster.app_url("b"), "carol")
    phone = signed_in_browser(cluster.app_url("a"), "carol")
    assert signed_in(cluster.app_url("b"), browser=laptop)  # b has it cached now
    a = cluster.app_url("a")
    phone.post(f"{a}/accounts/reauth/", form(phone, password=PASSWORD), timeout=WAIT_SECONDS)
    ended = phone.post(f"{a}/accounts/sessions/revoke-others/", form(phone), timeout=WAIT_SECONDS)
    assert ended.status_code == 200
    assert not signed_in(cluster.app_url("b"), browser=laptop)
    assert signed_in(a, browser=phone)


def test_sessions_ended_by_staff_on_a_are_refused_on_b_at_the_next_request(cluster):
    staff = server_user("dave")
    staff.is_staff = staff.is_superuser = True
    staff.save(update_fields=["is_staff", "is_superuser"])
    server_user("erin")
    shopper = signed_in_browser(cluster.app_url("b"), "erin")
    assert signed_in(cluster.app_url("b"), browser=shopper)  # cached on b
    console = signed_in_browser(cluster.app_url("a"), "dave")
    public_id = Session.objects.filter(user__username="erin").values_list("public_id", flat=True).first()
    changelist = f"{cluster.app_url('a')}/admin/accounts/session/"
    console.get(changelist, timeout=WAIT_SECONDS)
    answer = console.post(
        changelist, form(console, action="end_sessions", _selected_action=[public_id]), timeout=WAIT_SECONDS
    )
    assert "Ended 1 session." in answer.text
    assert not signed_in(cluster.app_url("b"), browser=shopper)


def test_sessions_ended_while_redis_is_frozen_stay_ended_on_both_servers_once_it_returns(cluster):
    server_user("hugo")
    laptop = signed_in_browser(cluster.app_url("b"), "hugo")
    tablet = signed_in_browser(cluster.app_url("b"), "hugo")
    phone = signed_in_browser(cluster.app_url("a"), "hugo")
    a, b = cluster.app_url("a"), cluster.app_url("b")
    for url in (a, b):  # each server has read both sessions (and copied the user) before the stall
        assert signed_in(url, browser=laptop) and signed_in(url, browser=tablet)
    phone.post(f"{a}/accounts/reauth/", form(phone, password=PASSWORD), timeout=WAIT_SECONDS)
    redis = cluster.processes["redis"]
    redis.send_signal(signal.SIGSTOP)  # frozen with its data: every delete sent now goes unanswered
    try:
        tablet_key = tablet.cookies["sessionid"]
        tablet.post(f"{a}/accounts/logout/", form(tablet), timeout=WAIT_SECONDS)
        laptop_key = laptop.cookies["sessionid"]
        ended = phone.post(f"{a}/accounts/sessions/revoke-others/", form(phone), timeout=WAIT_SECONDS)
        assert ended.status_code == 200
    finally:
        redis.send_signal(signal.SIGCONT)
    for url in (b, a):  # the very next request after Redis returns, on each server
        assert not signed_in(url, cookie=tablet_key)
        assert not signed_in(url, cookie=laptop_key)
    assert signed_in(b, browser=phone)


def test_a_user_changed_by_any_process_sharing_the_cache_is_seen_by_both_servers(cluster):
    staff = server_user("gina")
    staff.is_staff = staff.is_superuser = True
    staff.save(update_fields=["is_staff", "is_superuser"])
    console = signed_in_browser(cluster.app_url("a"), "gina")

    def console_status(name):
        return console.get(f"{cluster.app_url(name)}/admin/", timeout=WAIT_SECONDS, allow_redirects=False).status_code

    assert [console_status("a"), console_status("b")] == [200, 200]  # Redis now holds gina's row
    staff.is_staff = False
    staff.save(update_fields=["is_staff"])
    assert [console_status("a"), console_status("b")] == [302, 302]  # to the sign-in page: no server kept the old row


def test_a_changed_price_is_seen_in_the_catalog_and_the_cart_by_both_servers_at_the_next_request(cluster):
    product = ProductFactory(name="Cluster Lamp", price="30.00", stock=10)
    guest = requests.Session()
    guest.headers["User-Agent"] = USER_AGENT
    guest.get(f"{cluster.app_url('a')}/", timeout=WAIT_SECONDS)
    guest.post(f"{cluster.app_url('a')}/cart/add/", form(guest, product=product.pk), timeout=WAIT_SECONDS)

    def shown(name):
        page = guest.get(f"{cluster.app_url(name)}/", timeout=WAIT_SECONDS).text
        summary = guest.get(f"{cluster.app_url(name)}/cart/summary/", timeout=WAIT_SECONDS).json()
        return page.count("€30.00"), page.count("€25.00"), summary["total"]

    assert [shown("a"), shown("b"), shown("a"), shown("b")] == [(1, 0, "30.00")] * 4  # both now serve copies
    product.price = "25.00"
    product.save()
    assert [shown("a"), shown("b")] == [(0, 1, "25.00")] * 2


def test_a_cart_change_and_an_order_on_a_are_seen_by_b_at_the_next_request(cluster):
    """Neither b's copy of the catalog (its own memory) nor the cart's (Redis) outlives a change made on a."""
    server_user("iris")
    product = ProductFactory(name="Cluster Jug", price="8.00", stock=6)
    shopper = signed_in_browser(cluster.app_url("a"), "iris")
    a, b = cluster.app_url("a"), cluster.app_url("b")
    shopper.post(f"{a}/cart/add/", form(shopper, product=product.pk), timeout=WAIT_SECONDS)

    def seen_on_b():
        page = shopper.get(f"{b}/", timeout=WAIT_SECONDS).text
        card = page.split(f'data-testid="product-{product.slug}"')[1].split("</li>")[0]
        summary = shopper.get(f"{b}/cart/summary/", timeout=WAIT_SECONDS).json()
        return "in stock" in card, "only 4 left" in card, summary["count"]

    assert [seen_on_b(), seen_on_b()] == [(True, False, 1)] * 2  # b now serves copies
    shopper.post(f"{a}/cart/add/", form(shopper, product=product.pk), timeout=WAIT_SECONDS)
    assert seen_on_b() == (True, False, 2)
    placed = shopper.post(f"{a}/checkout/", form(shopper, address=""), allow_redirects=False, timeout=WAIT_SECONDS)
    assert placed.status_code == 302
    assert seen_on_b() == (False, True, 0)


def test_one_form_sent_to_a_then_resent_to_b_is_applied_once(cluster):
    """A resend that the balancer (or the buyer's retry) takes to the other server: the add and the order count once."""
    server_user("jack")
    product = ProductFactory(name="Cluster Cup", price="3.00", stock=20)
    buyer = signed_in_browser(cluster.app_url("a"), "jack")
    for name in ("a", "b"):
        add = form(buyer, product=product.pk, quantity=2, request_id="one-add-form-on-a-and-b")
        buyer.post(f"{cluster.app_url(name)}/cart/add/", add, allow_redirects=False, timeout=WAIT_SECONDS)
    summary = buyer.get(f"{cluster.app_url('b')}/cart/summary/", timeout=WAIT_SECONDS).json()
    assert summary["count"] == 2
    answers = {}
    for name in ("a", "b"):
        checkout = form(buyer, address="", request_id="one-checkout-form-on-a-and-b")
        answer = buyer.post(f"{cluster.app_url(name)}/checkout/", checkout, allow_redirects=False, timeout=WAIT_SECONDS)
        answers[name] = (answer.status_code, answer.headers.get("Location"))
    order = Order.objects.get(user__username="jack")
    assert answers == {name: (302, f"/orders/{order.number}/") for name in ("a", "b")}
    product.refresh_from_db()
    assert product.stock == 18 and order.lines.get().quantity == 2


def test_alerts_for_the_same_rule_and_account_mail_once_whichever_server_sees_them(cluster):
    server_user("frank")
    keys = {name: signed_in_browser(cluster.app_url(name), "frank").cookies["sessionid"] for name in ("a", "b")}
    for name, key in keys.items():
        # Presented by another browser: a hijack alert about frank's account, the session ended.
        requests.get(f"{cluster.app_url(name)}/", headers={"Cookie": f"sessionid={key}", "User-Agent": "Other/2.0"})
        assert not signed_in(cluster.app_url(name), cookie=key)
    assert AuditEvent.objects.filter(event="session_hijack_suspected", username="frank").count() == 2
    assert AuditEvent.objects.filter(event="security_alert", details__rule="hijack").count() == 1

    def mails():
        return [p for p in cluster.mail.iterdir() if "Session of frank" in p.read_text()]

    wait_until(lambda: mails(), "the alert mail")  # sent by a db_worker
    assert len(mails()) == 1


def test_one_server_killed_mid_run_of_parallel_adds_through_the_balancer_loses_and_doubles_nothing(cluster):
    product = ProductFactory(price="2.50", stock=10 * ADDS)
    guests = []
    for _ in range(GUESTS):
        browser = requests.Session()
        browser.headers["User-Agent"] = USER_AGENT
        browser.get(f"{cluster.url}/", timeout=WAIT_SECONDS)
        browser.post(f"{cluster.url}/cart/add/", form(browser, product=product.pk), timeout=WAIT_SECONDS)
        guests.append(dict(browser.cookies))

    def add(n):
        cookies = guests[n % GUESTS]
        return requests.post(
            f"{cluster.url}/cart/add/",
            # As each rendered add form carries one: an add that b applied and died before
            # answering is sent again by HAProxy to a, which sees it was applied already.
            {"product": product.pk, "csrfmiddlewaretoken": cookies["csrftoken"], "request_id": f"test-add-{n:05d}-x"},
            headers={"User-Agent": USER_AGENT, "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())},
            allow_redirects=False,
            timeout=WAIT_SECONDS,
        ).status_code

    try:
        with ThreadPoolExecutor(PARALLEL) as pool:
            futures = [pool.submit(add, n) for n in range(ADDS)]
            wait_until(lambda: sum(f.done() for f in futures) >= ADDS // 4, "a quarter of the adds")
            # SIGKILL, as a crash or the OOM killer would: b's requests in flight die with
            # it, some before their commit and some after, and HAProxy sends them to a.
            kill(cluster.processes["b"])
            statuses = [f.result() for f in futures]
        assert statuses == [302] * ADDS
        for cookies in guests:
            summary = requests.get(
                f"{cluster.url}/cart/summary/",
                headers={"User-Agent": USER_AGENT, "Cookie": f"sessionid={cookies['sessionid']}"},
                timeout=WAIT_SECONDS,
            ).json()
            units = 1 + ADDS // GUESTS
            assert (summary["count"], Decimal(summary["total"])) == (units, units * Decimal("2.50"))
    finally:
        cluster.start_app("b")
        wait_until(lambda: cluster.balancer_sees("b", "UP"), "server b back in the balancer")


def test_with_no_server_up_the_balancer_answers_the_shops_page_with_retry_after(cluster):
    """While both servers fail /healthz (PostgreSQL restarting, a deploy gone wrong): not HAProxy's bare 503."""
    try:
        for name in ("a", "b"):
            stop(cluster.processes[name])
        wait_until(lambda: cluster.balancer_sees("a", "DOWN") and cluster.balancer_sees("b", "DOWN"), "both down")
        answer = requests.get(f"{cluster.url}/cart/", timeout=WAIT_SECONDS)
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == str(DATABASE_DOWN_RETRY_SECONDS)
        assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
        assert answer.text == (ROOT / "templates" / "503.html").read_text()
        assert "Back in a moment" in answer.text
    finally:
        for name in ("a", "b"):
            cluster.start_app(name)
        wait_until(lambda: cluster.balancer_sees("a", "UP") and cluster.balancer_sees("b", "UP"), "both back")


@pytest.mark.skipif("SHOPDEMO_PG_DATA" not in os.environ, reason="needs the cluster of scripts/with-postgres.sh")
def test_a_postgres_restart_shows_the_shops_page_only_and_a_retried_order_is_placed_once(cluster):
    """The buyer's order commits, then the database restarts; every answer meanwhile is the shop's page, and
    the buyer's retry of the same checkout form (the cart refilled meanwhile) shows the first order."""
    server_user("quinn")
    product = ProductFactory(name="Restart Lamp", price="9.00", stock=10)
    buyer = signed_in_browser(cluster.url, "quinn")

    def add():
        buyer.post(f"{cluster.url}/cart/add/", form(buyer, product=product.pk), timeout=WAIT_SECONDS)

    def checkout():
        fields = form(buyer, address="", request_id="restart-checkout-form-01")
        return buyer.post(f"{cluster.url}/checkout/", fields, allow_redirects=False, timeout=WAIT_SECONDS)

    add()
    placed = checkout()
    assert placed.status_code == 302
    connection.close()
    pg_ctl("stop")
    answers = []
    try:
        for _ in range(3):  # the apps' own 503s, then the balancer's once both fail /healthz
            answers += [requests.get(f"{cluster.url}{path}", timeout=WAIT_SECONDS) for path in ("/", "/cart/")]
        wait_until(lambda: cluster.balancer_sees("a", "DOWN") and cluster.balancer_sees("b", "DOWN"), "both down")
        answers += [requests.get(f"{cluster.url}{path}", timeout=WAIT_SECONDS) for path in ("/", "/cart/")]
    finally:
        pg_ctl("start")
    # A page that needs no database (an empty cart without a session) may still be served; nothing
    # else is a 500 or HAProxy's bare 503, and once both servers are out the balancer answers the page.
    shop_page = [
        a.status_code == 503 and a.headers.get("Retry-After") == "30" and "be right back" in a.text for a in answers
    ]
    assert all(ok or a.status_code == 200 for ok, a in zip(shop_page, answers, strict=True)), answers
    assert all(shop_page[-2:]) and shop_page[0]
    wait_until(lambda: cluster.balancer_sees("a", "UP") and cluster.balancer_sees("b", "UP"), "both back")
    for name in ("a", "b"):
        cluster.start_worker(name)  # db_worker exits when its database goes; its supervisor starts it again
    add()
    again = checkout()
    assert (again.status_code, again.headers["Location"]) == (302, placed.headers["Location"])
    assert Order.objects.filter(user__username="quinn").count() == 1
