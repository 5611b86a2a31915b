"""Moving the account's address to the attacker's: the change outliving the owner's recovery, and mail floods.

The attacker here has got past the prompt once (a phished password): they ask
to move alice's address to theirs. The owner, warned at her address, resets
her password or signs out every other device; the attacker's link must be
dead by then. Separately, the change form is used to flood a third party's
mailbox, and to send the database an address longer than its column.
"""

import re

import pytest
from django.test import Client

from accounts.flows.email import LINKS_PER_HOUR
from accounts.models import EmailState
from tests.accounts.flows.test_password_reset import ask, reset
from tests.accounts.flows.test_password_reset import link_in as reset_link_in
from tests.conftest import confirm_it_is_me, sign_in
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

THIEF_ADDRESS = "thief@evil.example"
VICTIM_ADDRESS = "victim@third-party.example"
CHANGE_LINK = re.compile(r"http://testserver(/accounts/email/verify/[^/\s]+/)")


def mails_to(mailoutbox, address):
    return [mail for mail in mailoutbox if address in mail.to]


@pytest.fixture
def attacker(user, mailoutbox):
    """A browser signed in with alice's phished password, that has asked to move her address to the thief's."""
    browser = Client(HTTP_USER_AGENT="Thief/1.0")
    sign_in(browser, user.username, HTTP_USER_AGENT="Thief/1.0")
    confirm_it_is_me(browser)
    assert browser.post("/accounts/email/", {"email": THIEF_ADDRESS})["Location"] == "/accounts/"
    (link,) = [CHANGE_LINK.search(mail.body).group(1) for mail in mails_to(mailoutbox, THIEF_ADDRESS)]
    return browser, link


def test_the_owners_password_reset_kills_the_thiefs_change_link(attacker, user, mailoutbox):
    _, link = attacker
    owner = Client()
    ask(owner, user.email)
    assert reset(owner, reset_link_in(mails_to(mailoutbox, "alice@example.com")[-1])).status_code == 302
    assert Client().get(link).status_code == 400
    user.refresh_from_db()
    assert user.email == "alice@example.com"
    assert not EmailState.objects.filter(user=user, pending=THIEF_ADDRESS).exists()


def test_signing_out_every_other_device_kills_the_thiefs_change_link(attacker, user):
    _, link = attacker
    owner = Client()
    sign_in(owner, user.username)
    confirm_it_is_me(owner)
    assert owner.post("/accounts/sessions/revoke-others/").status_code == 302
    assert Client().get(link).status_code == 400
    user.refresh_from_db()
    assert user.email == "alice@example.com"


def test_the_change_form_cannot_flood_a_third_partys_mailbox(user, mailoutbox):
    browser = Client()
    sign_in(browser, user.username)
    for _ in range(15):
        confirm_it_is_me(browser)
        browser.post("/accounts/email/", {"email": VICTIM_ADDRESS})
    assert len(mails_to(mailoutbox, VICTIM_ADDRESS)) == LINKS_PER_HOUR
    assert len(mails_to(mailoutbox, "alice@example.com")) == LINKS_PER_HOUR


def test_many_accounts_cannot_flood_one_address_either(mailoutbox):
    for n in range(6):
        UserFactory(username=f"sock{n}")
        browser = Client()
        sign_in(browser, f"sock{n}")
        confirm_it_is_me(browser)
        answer = browser.post("/accounts/email/", {"email": VICTIM_ADDRESS})
        if n >= LINKS_PER_HOUR:
            assert answer.status_code == 429 and "Several links went out" in answer.content.decode()
    assert len(mails_to(mailoutbox, VICTIM_ADDRESS)) == LINKS_PER_HOUR


def test_an_address_longer_than_the_column_is_a_400(user, mailoutbox):
    browser = Client()
    sign_in(browser, user.username)
    confirm_it_is_me(browser, password=PASSWORD)
    answer = browser.post("/accounts/email/", {"email": "a" * 250 + "@example.com"})
    assert answer.status_code == 400 and "at most 254 characters" in answer.content.decode()
    assert not EmailState.objects.exclude(pending="").exists() and mailoutbox == []


UNDO_LINK = re.compile(r"http://testserver(/accounts/email/undo/[^/\s]+/)")


def completed(attacker, mailoutbox) -> str:
    """The thief opens their link: the change is done. Return the undo link the old address got."""
    _, link = attacker
    assert Client().get(link).status_code == 302
    (notice,) = [mail for mail in mails_to(mailoutbox, "alice@example.com") if "was changed" in mail.subject]
    assert THIEF_ADDRESS in notice.body
    return UNDO_LINK.search(notice.body).group(1)


def test_the_old_address_is_told_when_the_change_completes_and_can_undo_it(attacker, user, mailoutbox):
    undo = completed(attacker, mailoutbox)
    user.refresh_from_db()
    assert user.email == THIEF_ADDRESS
    owner = Client()
    assert owner.get(undo).status_code == 200  # a mail scanner's visit changes nothing
    user.refresh_from_db()
    assert user.email == THIEF_ADDRESS
    assert owner.post(undo)["Location"] == "/accounts/password/reset/"
    user.refresh_from_db()
    assert user.email == "alice@example.com" and user.email_state.confirmed == "alice@example.com"
    # The thief's address no longer gets reset links; the owner's does.
    ask(Client(), THIEF_ADDRESS)
    assert not [mail for mail in mails_to(mailoutbox, THIEF_ADDRESS) if "reset" in mail.subject.lower()]
    assert owner.post(undo).status_code == 400  # once only


def test_the_undo_link_lasts_as_long_as_a_reset_link(attacker, user, mailoutbox, clock, settings):
    undo = completed(attacker, mailoutbox)
    clock.shift(settings.PASSWORD_RESET_TIMEOUT + 1)
    assert Client().post(undo).status_code == 400
    user.refresh_from_db()
    assert user.email == THIEF_ADDRESS
