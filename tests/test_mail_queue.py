"""Mail queue workers as operators run them: real db_worker processes, a real SMTP relay, PostgreSQL.

Two workers on one queue send each mail once; a worker stopped as systemd stops
it finishes the mail in hand. (A killed server or a relay outage losing no
mail: tests/attacks/test_mail_loss.py.)
"""

import pytest

from accounts.monitoring.security import mail_notice
from tests.servers import queue_idle, start_worker, stop, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

MAILS = 40


def test_two_workers_on_one_queue_send_every_mail_exactly_once(smtp_relay, db_workers, mail_queue):
    smtp_relay.start()
    db_workers(EMAIL_URL=smtp_relay.url)
    db_workers(EMAIL_URL=smtp_relay.url)
    for n in range(MAILS):
        mail_notice.enqueue(to=["queue@example.com"], subject=f"Mail {n:02d}", body="text")
    wait_until(lambda: len(smtp_relay.messages) >= MAILS and queue_idle(), "every mail")
    assert sorted(smtp_relay.subjects()) == [f"[shopdemo] Mail {n:02d}" for n in range(MAILS)]


def test_a_worker_stopped_with_sigterm_finishes_its_mail_and_leaves_the_rest_queued(smtp_relay, db_workers, mail_queue):
    smtp_relay.start()
    mail_notice.enqueue(to=["queue@example.com"], subject="Before", body="text")
    process = start_worker(EMAIL_URL=smtp_relay.url)
    try:
        wait_until(lambda: smtp_relay.messages and queue_idle(), "the first mail")
    finally:
        stop(process)  # SIGTERM, as systemd stops it
    assert process.returncode == 0
    mail_notice.enqueue(to=["queue@example.com"], subject="After", body="text")
    assert not queue_idle()
    db_workers(EMAIL_URL=smtp_relay.url)
    wait_until(lambda: len(smtp_relay.messages) == 2 and queue_idle(), "the second mail")
    assert smtp_relay.subjects() == ["[shopdemo] Before", "[shopdemo] After"]
