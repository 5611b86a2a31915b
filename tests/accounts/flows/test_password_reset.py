"""Password reset: the request reveals nothing, the link works once and in time, a reset ends every session."""

import io
import logging
import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditEvent, Session
from accounts.views.password import MSG_BAD_LINK
from tests.accounts.flows.test_mfa import enrol
from tests.conftest import SESSION_COOKIE, is_signed_in, sign_in
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "tangerine-lighthouse-47"
RESET = "/accounts/password/reset/"
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
LINK = re.compile(r"http://testserver(/accounts/password/reset/[^/\s]+/[^/\s]+/)")


def ask(client, email, **extra):
    return client.post(RESET, {"email": email}, **extra)


def link_in(mail) -> str:
    """The reset link's path, from the plain-text part of the mail."""
    return LINK.search(mail.body).group(1)


def reset(client, path, password=NEW_PASSWORD):
    """Open the link (Django moves the token into the session) and set `password`; return the POST's answer."""
    form_url = client.get(path)["Location"]
    return client.post(form_url, {"new_password1": password, "new_password2": password})


def page_text(response) -> str:
    return CSRF_INPUT.sub("", response.content.decode())


class TestTheRequestRevealsNothing:
    def test_every_sign_in_page_offers_the_reset(self, client, user):
        assert RESET in client.get("/accounts/login/").content.decode()
        for _ in range(settings.AXES_FAILURE_LIMIT):
            locked = sign_in(client, password="wrong")
        assert locked.status_code == 429 and RESET in locked.content.decode()
        signed_in = Client()
        signed_in.force_login(user)
        assert RESET in signed_in.get("/accounts/reauth/").content.decode()
        # The OTP step's page: see test_mfa_still_applies_after_a_reset.

    def test_known_and_unknown_addresses_get_the_same_answer_and_no_mail_to_the_asker(self, client, user, mailoutbox):
        answers, queries = {}, {}
        for email in ["alice@example.com", "attacker@evil.example"]:
            with CaptureQueriesContext(connection) as captured:
                answers[email] = ask(client, email)
            queries[email] = len(captured)
        known, unknown = answers.values()
        assert known.status_code == unknown.status_code == 302
        assert known["Location"] == unknown["Location"] == "/accounts/password/reset/done/"
        assert known.content == unknown.content
        # The same work before the answer: the mail is not part of it.
        assert queries["alice@example.com"] == queries["attacker@evil.example"]
        done_known, done_unknown = (client.get(answer["Location"]) for answer in (known, unknown))
        assert done_known.status_code == done_unknown.status_code == 200
        assert page_text(done_known) == page_text(done_unknown)
        assert [mail.to for mail in mailoutbox] == [["alice@example.com"]]
        assert not [mail for mail in mailoutbox if "attacker@evil.example" in mail.to]

    def test_an_address_that_is_not_an_address_gets_the_form_again(self, client, user, mailoutbox):
        response = ask(client, "not an address")
        assert response.status_code == 400
        assert "Enter a valid email address." in response.content.decode()
        assert mailoutbox == []

    def test_inactive_accounts_get_no_link(self, client, mailoutbox):
        UserFactory(username="sleeper", is_active=False)
        assert ask(client, "sleeper@example.com")["Location"] == "/accounts/password/reset/done/"
        assert mailoutbox == []


class TestTheLink:
    def test_reset_end_to_end(self, client, user, mailoutbox):
        ask(client, "ALICE@example.com")
        (mail,) = mailoutbox
        assert mail.subject == "[shopdemo] Reset your password"
        assert "1 hour" in mail.body
        html, mimetype = mail.alternatives[0]
        assert mimetype == "text/html" and link_in(mail) in html
        opened = client.get(link_in(mail))
        # The token leaves the address bar at once, and no Referer ever carries it.
        assert opened.status_code == 302
        assert opened["Location"].endswith("/set-password/")
        assert opened["Referrer-Policy"] == "no-referrer"
        form = client.get(opened["Location"])
        # The form's page keeps same-origin: no-referrer would make Chromium post it with Origin: null.
        assert form["Referrer-Policy"] == "same-origin"
        # The rules come before the user types (Django's validators' own words).
        assert "must contain at least 8 characters" in form.content.decode()
        done = client.post(opened["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
        assert done.status_code == 302 and done["Location"] == "/accounts/login/"
        assert "Your password was reset" in client.get("/accounts/login/").content.decode()
        assert sign_in(Client()).status_code == 200  # the old password is refused
        assert sign_in(client, password=NEW_PASSWORD).status_code == 302
        assert [m.subject for m in mailoutbox] == [
            "[shopdemo] Reset your password",
            "[shopdemo] Your password was reset",
        ]
        assert mailoutbox[1].to == ["alice@example.com"] and mailoutbox[1].alternatives
        events = set(AuditEvent.objects.values_list("event", flat=True))
        assert {"authn_reset_request", "authn_password_reset"} <= events

    def test_a_weak_password_is_refused_with_the_rules_and_nothing_changes(self, client, user, mailoutbox):
        ask(client, "alice@example.com")
        response = reset(client, link_in(mailoutbox[0]), password="12345678")
        assert response.status_code == 400
        assert "This password is too common." in response.content.decode()
        user.refresh_from_db()
        assert user.check_password(PASSWORD)

    def test_the_link_works_once(self, client, user, mailoutbox):
        ask(client, "alice@example.com")
        path = link_in(mailoutbox[0])
        reset(client, path)
        again = Client().get(path)
        assert again.status_code == 400
        assert MSG_BAD_LINK in again.content.decode()
        assert 'name="email"' in again.content.decode()  # the request form, to ask for a new link

    def test_the_link_expires(self, client, user, mailoutbox, clock):
        ask(client, "alice@example.com")
        clock.shift(settings.PASSWORD_RESET_TIMEOUT + 1)
        response = client.get(link_in(mailoutbox[0]))
        assert response.status_code == 400 and MSG_BAD_LINK in response.content.decode()

    def test_the_link_still_works_just_before_it_expires(self, client, user, mailoutbox, clock):
        ask(client, "alice@example.com")
        clock.shift(settings.PASSWORD_RESET_TIMEOUT - 5)
        assert reset(client, link_in(mailoutbox[0])).status_code == 302

    @pytest.mark.parametrize(
        "mangle",
        [
            lambda uid, token: f"{uid}/{token[:-1]}{'a' if token[-1] != 'a' else 'b'}/",  # tampered token
            lambda uid, token: f"{uid[:-1]}{'x' if uid[-1] != 'x' else 'y'}/{token}/",  # another uid
            lambda uid, token: f"OTk5OTk5/{token}/",  # an unknown user id
            lambda uid, token: f"OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5/{token}/",  # beyond any integer column
            lambda uid, token: f"%C3%BF%FE/{token}/",  # garbage
            lambda uid, token: f"{uid}/set-password/",  # the token-less URL without the token in the session
        ],
    )
    def test_forged_or_mangled_links_get_the_form_again_and_change_nothing(self, client, user, mailoutbox, mangle):
        ask(client, "alice@example.com")
        uid, token = link_in(mailoutbox[0]).removeprefix(RESET).strip("/").split("/")
        path = RESET + mangle(uid, token)
        for response in (
            client.get(path),
            client.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}),
        ):
            assert response.status_code == 400
            assert MSG_BAD_LINK in response.content.decode()
        user.refresh_from_db()
        assert user.check_password(PASSWORD)

    def test_a_sign_in_after_the_request_voids_the_link(self, client, user, mailoutbox):
        ask(client, "alice@example.com")
        sign_in(Client())
        assert client.get(link_in(mailoutbox[0])).status_code == 400


class TestWhatAResetDoes:
    def test_every_session_of_the_account_ends(self, client, user, mailoutbox):
        phone, laptop = Client(), Client()
        sign_in(phone)
        sign_in(laptop)
        ask(client, "alice@example.com")
        reset(client, link_in(mailoutbox[0]))
        assert not Session.objects.filter(user=user).exists()
        for device in (phone, laptop):
            assert not is_signed_in(device)
        ended = AuditEvent.objects.filter(event="session_expired", details__reason="password_reset")
        assert ended.count() == 2

    def test_the_browser_that_resets_is_not_signed_in_and_keeps_no_session(self, client, user, mailoutbox):
        sign_in(client)
        before = client.cookies[SESSION_COOKIE].value
        ask(client, "alice@example.com")
        reset(client, link_in(mailoutbox[0]))
        assert not is_signed_in(client)
        assert client.cookies[SESSION_COOKIE].value != before
        assert not Session.objects.exists()

    def test_mfa_still_applies_after_a_reset(self, client, user, mailoutbox):
        sign_in(client)
        enrol(client)
        client.post("/accounts/logout/")
        mailoutbox.clear()
        ask(client, "alice@example.com")
        reset(client, link_in(mailoutbox[0]))
        response = sign_in(client, password=NEW_PASSWORD)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/otp/")
        otp_step = client.get(response["Location"]).content.decode()
        assert "Enter your code" in otp_step and RESET in otp_step
        assert not is_signed_in(client)

    def test_the_lockout_of_the_username_is_lifted(self, client, user, mailoutbox):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            sign_in(client, password="wrong")
        assert sign_in(client).status_code == 429
        ask(client, "alice@example.com")
        reset(client, link_in(mailoutbox[0]))
        assert sign_in(client, password=NEW_PASSWORD).status_code == 302


class TestThrottles:
    def test_an_account_gets_at_most_the_hourly_number_of_mails(self, client, user, mailoutbox, clock):
        answers = [ask(client, "alice@example.com", REMOTE_ADDR=f"10.0.0.{n}") for n in range(5)]
        assert len(mailoutbox) == settings.PASSWORD_RESET_PER_HOUR == 3
        # The throttled answer is the answer anyone gets.
        assert {(answer.status_code, answer["Location"]) for answer in answers} == {
            (302, "/accounts/password/reset/done/")
        }
        assert AuditEvent.objects.filter(event="authn_reset_throttled", user=user).count() == 2
        clock.shift(3601)
        ask(client, "alice@example.com")
        assert len(mailoutbox) == 4

    def test_an_address_gets_at_most_the_hourly_number_of_requests(self, client, user, mailoutbox, clock):
        for n in range(settings.PASSWORD_RESET_PER_IP_PER_HOUR):
            ask(client, f"nobody{n}@example.com")
        answer = ask(client, "alice@example.com")
        assert answer["Location"] == "/accounts/password/reset/done/"
        assert mailoutbox == []
        assert AuditEvent.objects.filter(event="authn_reset_throttled").count() == 1
        ask(client, "alice@example.com", REMOTE_ADDR="10.1.1.1")  # another address is not held back
        assert len(mailoutbox) == 1
        clock.shift(3601)
        ask(client, "alice@example.com")
        assert len(mailoutbox) == 2


class TestNoTokenInLogs:
    @pytest.fixture
    def console(self):
        """What the configured console handler (the JSON lines on stdout) writes."""
        handler = next(handler for handler in logging.getLogger().handlers if handler.name == "console")
        stream = io.StringIO()
        previous = handler.setStream(stream)
        yield stream
        handler.setStream(previous)

    def test_runservers_request_lines_are_redacted(self):
        """`make run` serves with runserver, whose django.server logger prints each request line."""
        handler = next(handler for handler in logging.getLogger("django.server").handlers if handler.name == "server")
        stream = io.StringIO()
        previous = handler.setStream(stream)
        try:
            logging.getLogger("django.server").info(
                '"%s" %s %s', "GET /accounts/email/verify/eyJ1Ijo:1t:sig/ HTTP/1.1", 302, 0
            )
        finally:
            handler.setStream(previous)
        assert '"GET /accounts/email/verify/[redacted]/ HTTP/1.1" 302 0' in stream.getvalue()
        assert "eyJ1Ijo" not in stream.getvalue()

    def test_no_log_line_or_audit_row_holds_the_token(self, client, user, mailoutbox, console):
        ask(client, "alice@example.com")
        path = link_in(mailoutbox[0])
        uid, token = path.removeprefix(RESET).strip("/").split("/")
        reset(client, path)
        assert client.get(path).status_code == 400  # Django's request logger reports the path of a 400
        output = console.getvalue()
        assert "authn_password_reset" in output and "Bad Request" in output
        assert "/accounts/password/reset/[redacted]" in output
        assert token not in output
        rows = " ".join(str(values) for values in AuditEvent.objects.values_list("path", "details"))
        assert "/accounts/password/reset/[redacted]" in rows
        assert token not in rows and f"{uid}/set-password" not in rows


def test_gunicorn_reads_the_redacting_logger_from_the_repository(monkeypatch, tmp_path):
    """gunicorn loads ./gunicorn.conf.py by default; its logger redacts the access log's request line and Referer."""
    import runpy
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config

    # Loading the config sets PROMETHEUS_MULTIPROC_DIR when it is unset; given here, it
    # is unset again afterwards, so this process's /metrics stays single-process.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    conf = runpy.run_path(str(settings.BASE_DIR / "gunicorn.conf.py"))
    config = Config()
    config.set("logger_class", conf["logger_class"])
    logger = config.logger_class(config)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/accounts/password/reset/MQ/cxyz-0123456789abcdef/",
        "PATH_INFO": "/accounts/password/reset/MQ/cxyz-0123456789abcdef/",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": "http://shop.example/accounts/email/verify/eyJ1IjoxfQ:1t:abc/",
    }
    response = SimpleNamespace(status="302 Found", headers=[], sent=0)
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    atoms = logger.atoms(response, request, environ, timedelta(milliseconds=3))
    line = config.access_log_format % atoms
    assert "cxyz-0123456789abcdef" not in line and "eyJ1IjoxfQ" not in line
    assert '"GET /accounts/password/reset/[redacted]/ HTTP/1.1"' in line
    assert urlsplit(atoms["f"]).path == "/accounts/email/verify/[redacted]/"
