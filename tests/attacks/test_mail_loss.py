"""Mail lost to a killed server or a relay outage: a reset link, an order mail, a security notice never arriving.

No attacker needs a foothold here: the server dying right after it answered
(an OOM kill, a deploy), or the relay being down for a while, must not lose
mail silently, and an attacker who can take the relay down must not be able
to make a notice vanish unnoticed. Each mail is a task row written in its
cause's transaction and sent by a `db_worker` (any server, any time later);
a failed send is retried 1, 5 and 30 minutes later, then recorded as failed
and reported to staff. Real gunicorn, real db_worker, a real SMTP relay
(aiosmtpd); the worker runs in this process where the clock has to move.
"""

import pytest
from django_tasks_db.models import DBTaskResult

from accounts.models import AuditEvent
from cart.models import Order
from tests.factories import CartFactory, CartItemFactory, ProductFactory
from tests.servers import (
    WAIT_SECONDS,
    kill,
    queue_idle,
    server_user,
    signed_in_browser,
    start_gunicorn,
    stop,
    wait_until,
)

STAFF = "security@shop.example"


def place_order(url: str, username: str) -> str:
    """Sign in to the server at `url`, place the order of the cart the test filled; return the order's number."""
    browser = signed_in_browser(url, username)
    answer = browser.post(
        f"{url}/checkout/",
        {"address": "1 Quay Street", "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        allow_redirects=False,
        timeout=WAIT_SECONDS,
    )
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/orders/")
    return answer.headers["Location"].split("/")[2]


def a_cart_for(username: str) -> None:
    CartItemFactory(cart=CartFactory(user=server_user(username)), product=ProductFactory(name="Queue Lamp"))


def send_through(settings, relay) -> None:
    """This process's worker sends through `relay` over SMTP, as EMAIL_URL=smtp://… makes it."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", relay.port


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_server_killed_right_after_answering_loses_no_mail(smtp_relay, db_workers):
    a_cart_for("olivia")
    smtp_relay.start()
    server, url = start_gunicorn(EMAIL_URL=smtp_relay.url)
    number = place_order(url, "olivia")
    kill(server)  # SIGKILL: nothing it held in memory survives
    assert smtp_relay.messages == []  # a web process sends no mail
    db_workers(EMAIL_URL=smtp_relay.url)  # later, elsewhere
    wait_until(lambda: smtp_relay.messages and queue_idle(), "the order mail")
    assert smtp_relay.subjects() == [f"[shopdemo] Your order {number}"]
    assert Order.objects.get(number=number).lines.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_relay_down_when_the_order_is_placed_delivers_it_once_when_back(smtp_relay, worker, settings, clock):
    a_cart_for("piotr")
    server, url = start_gunicorn(EMAIL_URL=smtp_relay.url)
    number = place_order(url, "piotr")
    stop(server)
    send_through(settings, smtp_relay)
    worker()  # the relay refuses the connection: a retry in a minute
    smtp_relay.start()
    worker()
    assert smtp_relay.messages == []  # not before its time
    clock.shift(60)
    worker()
    clock.shift(3600)
    worker()
    assert smtp_relay.subjects() == [f"[shopdemo] Your order {number}"]


@pytest.mark.django_db
def test_a_reset_link_given_up_on_is_recorded_failed_and_staff_are_told_when_the_relay_is_back(
    client, user, smtp_relay, worker, settings, clock
):
    settings.ADMINS = [("Security", STAFF)]
    send_through(settings, smtp_relay)  # down: every connection refused
    assert client.post("/accounts/password/reset/", {"email": user.email}).status_code == 302
    for wait in (0, 60, 300, 1800):
        clock.shift(wait)
        worker()  # the fourth failure is final: the alert to staff is queued, and fails at once too
    attempts = DBTaskResult.objects.filter(task_path="accounts.flows.password.mail_reset_link")
    assert [row.status for row in attempts] == ["FAILED"] * 4
    assert all("Connection refused" in row.traceback for row in attempts)
    assert AuditEvent.objects.filter(event="security_alert", details__rule="mail_undelivered").count() == 1
    smtp_relay.start()
    clock.shift(60)
    worker()
    (alert,) = smtp_relay.messages
    assert alert["To"] == STAFF and alert["Subject"] == "[shopdemo] A mail could not be delivered"
    body = alert.get_payload(decode=True).decode()
    assert "mail_reset_link" in body and "Task results" in body
    clock.shift(24 * 3600)
    worker()
    assert len(smtp_relay.messages) == 1  # given up: the stale link is not sent a day late
