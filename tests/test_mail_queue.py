"""Mail that no process can lose: real gunicorn, real db_worker processes, a real SMTP relay, PostgreSQL.

A server answers once the order and its mail task are committed; whatever
happens to it then, a worker (started later, on any server) sends the mail,
and only one worker sends each mail. The retry test runs the worker in this
process (tests/conftest.py `worker`) because its clock has to move.
"""

import pytest
from django.db import connection

from accounts.monitoring.security import mail_notice
from cart.models import Order
from tests.factories import CartFactory, CartItemFactory, ProductFactory
from tests.servers import (
    WAIT_SECONDS,
    SmtpSink,
    kill,
    server_user,
    signed_in_browser,
    start_gunicorn,
    start_worker,
    stop,
    wait_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

MAILS = 40


@pytest.fixture
def relay():
    """The SMTP relay, not yet up."""
    sink = SmtpSink()
    yield sink
    sink.stop()


@pytest.fixture
def workers():
    """Start db_worker processes; they are stopped after the test."""
    started = []

    def start(**env):
        started.append(start_worker(**env))

    yield start
    for process in started:
        stop(process)


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


def queue_idle() -> bool:
    """No mail waiting or being sent."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status IN ('READY', 'RUNNING')")
        return cursor.fetchone()[0] == 0


def test_a_server_killed_right_after_answering_loses_no_mail(relay, workers):
    a_cart_for("olivia")
    relay.start()
    server, url = start_gunicorn(EMAIL_URL=relay.url)
    number = place_order(url, "olivia")
    kill(server)  # SIGKILL: nothing it held in memory survives
    assert relay.messages == []  # a web process sends no mail
    workers(EMAIL_URL=relay.url)  # later, elsewhere
    wait_until(lambda: relay.messages and queue_idle(), "the order mail")
    assert relay.subjects() == [f"[shopdemo] Your order {number}"]
    assert Order.objects.get(number=number).lines.count() == 1


def test_a_relay_down_when_the_order_is_placed_delivers_it_once_when_back(relay, worker, settings, clock):
    a_cart_for("piotr")
    server, url = start_gunicorn(EMAIL_URL=relay.url)
    number = place_order(url, "piotr")
    stop(server)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", relay.port
    worker()  # the relay refuses the connection: a retry in a minute
    relay.start()
    worker()
    assert relay.messages == []  # not before its time
    clock.shift(60)
    worker()
    clock.shift(3600)
    worker()
    assert relay.subjects() == [f"[shopdemo] Your order {number}"]


def test_two_workers_on_one_queue_send_every_mail_exactly_once(relay, workers, mail_queue):
    relay.start()
    workers(EMAIL_URL=relay.url)
    workers(EMAIL_URL=relay.url)
    for n in range(MAILS):
        mail_notice.enqueue(to=["queue@example.com"], subject=f"Mail {n:02d}", body="text")
    wait_until(lambda: len(relay.messages) >= MAILS and queue_idle(), "every mail")
    assert sorted(relay.subjects()) == [f"[shopdemo] Mail {n:02d}" for n in range(MAILS)]


def test_a_worker_stopped_with_sigterm_finishes_its_mail_and_leaves_the_rest_queued(relay, workers, mail_queue):
    relay.start()
    mail_notice.enqueue(to=["queue@example.com"], subject="Before", body="text")
    process = start_worker(EMAIL_URL=relay.url)
    try:
        wait_until(lambda: relay.messages and queue_idle(), "the first mail")
    finally:
        stop(process)  # SIGTERM, as systemd stops it
    assert process.returncode == 0
    mail_notice.enqueue(to=["queue@example.com"], subject="After", body="text")
    assert not queue_idle()
    workers(EMAIL_URL=relay.url)
    wait_until(lambda: len(relay.messages) == 2 and queue_idle(), "the second mail")
    assert relay.subjects() == ["[shopdemo] Before", "[shopdemo] After"]
