"""Telling known from unknown addresses by how long the reset form takes to answer.

The attacker has a list of addresses and a stopwatch: the reset form says the
same words for every address, but a request that looked the account up, built
a token and sent a mail would answer later than one that found nobody. Every
request, known address or not, queues the same task (`mail_reset_link` with the
typed address) and answers; the worker looks the accounts up and builds the
link, so only the owner's mailbox learns anything.
"""

import statistics
import time

import pytest
from django_tasks_db.models import DBTaskResult

pytestmark = pytest.mark.django_db

RESET = "/accounts/password/reset/"
KNOWN, UNKNOWN = "alice@example.com", "attacker@evil.example"


def ask(client, email):
    return client.post(RESET, {"email": email})


def test_known_and_unknown_addresses_queue_the_same_task_and_only_the_owner_gets_mail(client, user, mailoutbox, worker):
    """The worker, not the request, finds the account: the request does the same for both."""
    for email in [KNOWN, UNKNOWN]:
        assert ask(client, email).status_code == 302
    known, unknown = DBTaskResult.objects.order_by("enqueued_at")
    assert known.task_path == unknown.task_path == "accounts.flows.password.mail_reset_link"
    assert known.args_kwargs == {"args": [], "kwargs": {"email": KNOWN, "origin": "http://testserver"}}
    assert unknown.args_kwargs == {"args": [], "kwargs": {"email": UNKNOWN, "origin": "http://testserver"}}
    assert mailoutbox == []
    worker()
    (mail,) = mailoutbox
    assert mail.to == [KNOWN]
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}


def test_known_and_unknown_addresses_take_the_same_time(client, user, settings, mail_queue):
    """Median over 30 requests each, interleaved: the gap stays within the noise between two runs of one kind."""
    settings.PASSWORD_RESET_PER_HOUR = settings.PASSWORD_RESET_PER_IP_PER_HOUR = 1000
    timings = {KNOWN: [], UNKNOWN: []}
    for _ in range(30):
        for email, times in timings.items():
            started = time.perf_counter()
            assert ask(client, email).status_code == 302
            times.append(time.perf_counter() - started)
    known, unknown = (statistics.median(times) for times in timings.values())
    # The noise: how far the two halves of the same kind's runs lie apart.
    noise = max(abs(statistics.median(t[:15]) - statistics.median(t[15:])) for t in timings.values())
    assert abs(known - unknown) <= max(2 * noise, 0.1 * min(known, unknown)), (known, unknown, noise)
