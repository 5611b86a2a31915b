"""shopdemo/mail.py: every mail to a user is text plus HTML; work held until the response has gone."""

import logging
import threading

import pytest

from shopdemo import mail
from tests.conftest import confirm_it_is_me, sign_in

pytestmark = pytest.mark.django_db


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


def test_outside_a_request_held_work_runs_at_once(mailoutbox):
    ran = []
    mail.after_response(lambda: ran.append(True))
    assert ran == [True]


def test_held_work_runs_in_the_background_thread_once_the_response_is_done(monkeypatch):
    """Not in the request's thread: under gthread the next request on a kept-alive connection would wait for it."""
    monkeypatch.undo()  # the real hand-off, not the suite's in-thread one
    done, threads = threading.Event(), []
    mail.after_response_open()
    mail.after_response(lambda: (threads.append(threading.current_thread()), done.set()))
    assert not done.is_set()
    mail.after_response_run()
    assert done.wait(timeout=10)
    assert threads[0] is not threading.current_thread() and threads[0].name.startswith("after-response")


def test_held_work_that_fails_is_logged_and_the_rest_still_runs(caplog):
    ran = []
    mail.after_response_open()
    mail.after_response(lambda: 1 / 0)
    mail.after_response(lambda: ran.append(True))
    assert ran == []
    with caplog.at_level(logging.ERROR, logger="shopdemo.mail"):
        mail.after_response_run()
    assert ran == [True]
    assert [record.message for record in caplog.records] == ["after_response_failed"]


def test_a_mail_without_any_address_is_not_sent(mailoutbox):
    assert mail.mail_send(to=["", ""], subject="Nothing", template="notice", context={"body": "x"}) is False
    assert mailoutbox == []
