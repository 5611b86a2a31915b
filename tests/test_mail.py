"""shopdemo/mail.py: every mail is text plus HTML, a task queued with its cause, retried, then reported."""

import smtplib
from unittest import mock

import pytest
from django.core.mail.backends.locmem import EmailBackend
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from accounts.models import AuditEvent
from accounts.monitoring.security import mail_notice, notify_user
from shopdemo import mail
from tests.conftest import confirm_it_is_me, sign_in

pytestmark = pytest.mark.django_db

RELAY_DOWN = "relay down"


@pytest.fixture
def relay():
    """The locmem relay, which a test can take down (every send raises, as smtplib does) and bring back."""
    patch = pytest.MonkeyPatch()  # its own: bringing the relay back undoes nothing else

    class Relay:
        def down(self):
            def refuse(backend, messages):
                raise smtplib.SMTPServerDisconnected(RELAY_DOWN)

            patch.setattr(EmailBackend, "send_messages", refuse)

        def up(self):
            patch.undo()

    yield Relay()
    patch.undo()


@pytest.fixture
def admins(settings):
    settings.ADMINS = [("Security", "security@shop.example")]


def rows(task, **filters):
    # In the order they ran: under the stopped clock a first retry is enqueued in the same instant as its mail.
    return DBTaskResult.objects.filter(task_path=task.module_path, **filters).order_by("enqueued_at", "started_at")


def test_security_notices_to_users_are_text_and_html(client, user, mailoutbox):
    sign_in(client)
    confirm_it_is_me(client)
    client.post(
        "/accounts/password/",
        {
            "old_password": "correct-horse-battery-9",
            "new_password1": "x-Tangerine-47-y",
            "new_password2": "x-Tangerine-47-y",
        },
    )
    (notice,) = mailoutbox
    assert notice.subject == "[shopdemo] Your password was changed"
    assert "If this was not you" in notice.body
    html, mimetype = notice.alternatives[0]
    assert mimetype == "text/html" and "If this was not you" in html and html.startswith("<!doctype html>")


def test_a_mail_without_any_address_is_not_sent(mailoutbox):
    assert mail.mail_send(to=["", ""], subject="Nothing", template="notice", context={"body": "x"}) is False
    assert mailoutbox == []


class TestQueuedWithItsCause:
    def test_a_rolled_back_transaction_queues_nothing_and_a_committed_one_its_mail(
        self, user, mail_queue, worker, mailoutbox
    ):
        with pytest.raises(RuntimeError), transaction.atomic():
            notify_user(user=user, subject="Rolled back", body="never")
            assert rows(mail_notice).count() == 1  # queued inside the transaction...
            raise RuntimeError("the cause fails")
        assert not DBTaskResult.objects.exists()  # ...and gone with it
        with transaction.atomic():
            notify_user(user=user, subject="Committed", body="sent")
        assert mailoutbox == []  # the request's process sends nothing
        worker()
        assert [m.subject for m in mailoutbox] == ["[shopdemo] Committed"]

    def test_djangos_error_mail_to_admins_is_queued_too(self, client, admins, mail_queue, worker, mailoutbox):
        client.raise_request_exception = False
        with mock.patch("cart.views.selectors.catalog_list", side_effect=ZeroDivisionError("a bug")):
            assert client.get("/").status_code == 500
        assert mailoutbox == []  # not from the web process
        (queued,) = DBTaskResult.objects.all()
        assert queued.task_path == "shopdemo.mail.mail_staff"
        worker()
        (error,) = mailoutbox
        assert error.to == ["security@shop.example"] and "ZeroDivisionError" in error.body


class TestRetries:
    def test_a_failed_mail_is_tried_again_1_5_and_30_minutes_later_then_recorded_failed(
        self, user, mail_queue, worker, relay, clock, mailoutbox
    ):
        relay.down()
        notify_user(user=user, subject="Hello", body="text")
        for wait in (60, 300, 1800):
            worker()
            retry = rows(mail_notice, status="READY").get()
            assert (retry.run_after - retry.enqueued_at).total_seconds() == wait
            clock.shift(wait - 1)
            worker()  # not yet
            assert rows(mail_notice, status="READY").get() == retry
            clock.shift(1)
        worker()
        attempts = rows(mail_notice)
        assert [row.status for row in attempts] == ["FAILED"] * 4
        assert [row.args_kwargs["kwargs"].get("attempt", 0) for row in attempts] == [0, 1, 2, 3]
        assert all(RELAY_DOWN in row.traceback for row in attempts)
        clock.shift(24 * 3600)
        relay.up()
        worker()
        assert mailoutbox == []  # given up: recorded, not sent a day later

    def test_a_relay_back_within_the_retries_delivers_once(self, user, mail_queue, worker, relay, clock, mailoutbox):
        relay.down()
        notify_user(user=user, subject="Hello", body="text")
        worker()
        relay.up()
        clock.shift(60)
        worker()
        clock.shift(3600)
        worker()
        assert [m.subject for m in mailoutbox] == ["[shopdemo] Hello"]
        assert [row.status for row in rows(mail_notice)] == ["FAILED", "SUCCESSFUL"]

    def test_a_mail_given_up_on_alerts_staff_once_and_that_alert_never_reports_itself(
        self, user, admins, mail_queue, worker, relay, clock, mailoutbox
    ):
        relay.down()
        for subject in ("First", "Second"):
            mail_notice.enqueue(to=[user.email], subject=subject, body="text")
        for wait in (0, 60, 300, 1800, 60, 300, 1800, 3600):
            clock.shift(wait)
            worker()
        # Both mails were given up on; one alert (throttled), itself given up on, and nothing about it.
        assert rows(mail_notice, status="FAILED").count() == 8
        assert AuditEvent.objects.filter(event="security_alert", details__rule="mail_undelivered").count() == 1
        staff = DBTaskResult.objects.filter(task_path="shopdemo.mail.mail_staff")
        assert staff.count() == 4 and not staff.exclude(status="FAILED").exists()
        assert not DBTaskResult.objects.filter(status="READY").exists()
