"""Taking over an account with a reset or confirmation link read from the mail queue.

The attacker is a staff member with "view task result" in the admin, or anyone
holding a dump of the database (a backup, a replica): the queue table
(`django_tasks_database_dbtaskresult`) keeps every mail task's arguments in the
clear, for as long as TASK_RETENTION_DAYS. The arguments carry ids, addresses and
the origin, never a link: the worker signs each token as it sends, so the links
exist only in the mail. The admin's task list hides the arguments besides.
"""

import re

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client

from tests.conftest import confirm_it_is_me, sign_in
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

URL = re.compile(r"http://testserver(/\S+)")
TASKS = "/admin/django_tasks_database/dbtaskresult/"


def dump() -> str:
    """The queue table as a dump shows it: every column of every row, as text."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM django_tasks_database_dbtaskresult")
        return repr(cursor.fetchall())


def tokens_in(mails) -> set[str]:
    """The secret part of every link mailed: each path segment long enough to be a token."""
    paths = [path for mail in mails for path in URL.findall(mail.body)]
    return {segment for path in paths for segment in path.split("/") if len(segment) >= 20}


def test_a_dump_of_the_queue_after_a_reset_holds_no_reset_link(client, user, mailoutbox, worker):
    client.post("/accounts/password/reset/", {"email": "alice@example.com"})
    assert mailoutbox == []  # queued, as the dump would catch it
    worker()
    (mail,) = mailoutbox
    (token,) = tokens_in([mail])
    assert token not in dump()
    assert mail.to == ["alice@example.com"]


def test_a_dump_after_registration_an_email_change_and_its_undo_holds_no_link(client, mailoutbox, worker):
    client.post(
        "/accounts/register/",
        {"username": "newbie", "email": "newbie@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    worker()  # the registration's confirmation link
    confirm_it_is_me(client)
    client.post("/accounts/email/", {"email": "newbie@new.example"})
    worker()  # the change's link to the new address, the notice to the old one
    (change,) = [mail for mail in mailoutbox if mail.to == ["newbie@new.example"]]
    assert client.get(URL.search(change.body).group(1)).status_code == 302  # the change completes
    worker()  # the undo link to the old address
    subjects = {mail.subject for mail in mailoutbox}
    assert {"[shopdemo] Confirm your email address", "[shopdemo] Your account's email address was changed"} <= subjects
    tokens = tokens_in(mailoutbox)
    assert len(tokens) >= 3  # confirmation, change, undo
    table = dump()
    assert "newbie@new.example" in table  # the rows are there: the addresses, not the links
    assert not [token for token in tokens if token in table]


def test_view_only_staff_see_status_and_attempt_but_no_address_or_token(client, user, worker, mailoutbox):
    client.post("/accounts/password/reset/", {"email": "alice@example.com"})
    client.post("/accounts/password/reset/", {"email": "nobody@elsewhere.example"})
    worker()
    (token,) = tokens_in(mailoutbox)
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_dbtaskresult"))
    staff = Client()
    sign_in(staff, "viewer")
    listing = staff.get(TASKS).content.decode()
    assert listing.count("mail_reset_link") == 2 and "Successful" in listing
    ids = re.findall(rf"{TASKS}([0-9a-f-]+)/change/", listing)
    assert len(set(ids)) == 2
    for task_id in set(ids):
        page = staff.get(f"{TASKS}{task_id}/change/").content.decode()
        assert "mail_reset_link" in page and "attempt" in page
        for secret in ("alice@example.com", "nobody@elsewhere.example", token):
            assert secret not in page
