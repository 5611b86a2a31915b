"""The account's address: confirmed by its link at registration, changed only through the new address's link."""

import re

import pytest
from django.conf import settings
from django.test import Client

from accounts.flows.email import LINKS_PER_HOUR, MSG_BAD_LINK
from accounts.models import AuditEvent, EmailState
from cart.models import CartItem
from tests.conftest import confirm_it_is_me, is_signed_in, sign_in
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://testserver(/accounts/email/verify/[^/\s]+/)")
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
NEW_PASSWORD = "tangerine-lighthouse-47"


def register(client, username="dana", email="dana@example.com"):
    data = {"username": username, "email": email, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    return client.post("/accounts/register/", data)


def link_in(mail) -> str:
    return LINK.search(mail.body).group(1)


def email_state_on_page(client) -> str:
    return re.search(r'data-testid="email-state">\((.*?)\)<', client.get("/accounts/").content.decode()).group(1)


def mails_to(mailoutbox, address):
    return [mail for mail in mailoutbox if address in mail.to]


class TestRegistration:
    def test_registration_signs_in_at_once_keeps_the_cart_and_mails_a_link_that_confirms(
        self, client, product, mailoutbox
    ):
        client.post("/cart/add/", {"product": product.pk, "quantity": 2})
        response = register(client)
        assert response.status_code == 302 and is_signed_in(client)
        assert CartItem.objects.get(cart__user__username="dana").quantity == 2
        assert email_state_on_page(client) == "not confirmed"
        (mail,) = mailoutbox
        assert mail.to == ["dana@example.com"] and mail.subject == "[shopdemo] Confirm your email address"
        assert "3 days" in mail.body and link_in(mail) in mail.alternatives[0][0]
        opened = client.get(link_in(mail))
        assert opened.status_code == 302 and opened["Location"] == "/accounts/"
        assert opened["Referrer-Policy"] == "no-referrer"
        assert email_state_on_page(client) == "confirmed"
        assert AuditEvent.objects.filter(event="authn_email_confirmed", username="dana").exists()

    def test_the_link_works_once(self, client, mailoutbox):
        register(client)
        path = link_in(mailoutbox[0])
        client.get(path)
        again = client.get(path)
        assert again.status_code == 400 and MSG_BAD_LINK in again.content.decode()
        assert "Send me a new link" in again.content.decode()

    def test_the_link_expires(self, client, mailoutbox, clock):
        register(client)
        clock.shift(settings.EMAIL_VERIFY_TIMEOUT + 1)
        response = Client().get(link_in(mailoutbox[0]))
        assert response.status_code == 400
        assert not EmailState.objects.exclude(confirmed="").exists()

    @pytest.mark.parametrize(
        "mangle",
        [
            lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),  # tampered signature
            lambda token: "x" + token,  # tampered payload
            lambda token: "garbage",
            lambda token: "%FF:::",  # (a NUL anywhere: tests/attacks/test_unbounded_input.py)
        ],
    )
    def test_forged_or_mangled_links_get_a_clear_400_and_change_nothing(self, client, mailoutbox, mangle):
        register(client)
        token = link_in(mailoutbox[0]).removeprefix("/accounts/email/verify/").strip("/")
        response = client.get(f"/accounts/email/verify/{mangle(token)}/")
        assert response.status_code == 400 and MSG_BAD_LINK in response.content.decode()
        assert email_state_on_page(client) == "not confirmed"

    def test_opened_while_signed_out_it_confirms_and_leads_to_sign_in(self, client, mailoutbox):
        register(client)
        response = Client().get(link_in(mailoutbox[0]))
        assert response["Location"] == "/accounts/login/"
        assert email_state_on_page(client) == "confirmed"

    def test_an_address_in_use_is_not_revealed_and_its_owner_gets_a_notice_not_a_link(self, mailoutbox):
        owner = UserFactory(username="olga", email="olga@example.com")
        EmailState.objects.create(user=owner, confirmed="olga@example.com")
        answers = {}
        for username, email in [("mallory", "olga@example.com"), ("trent", "trent@example.com")]:
            client = Client()
            answers[email] = (register(client, username, email), client.get("/accounts/"), client)
        (in_use, in_use_page, mallory), (fresh, fresh_page, _) = answers.values()
        assert in_use.status_code == fresh.status_code == 302 and in_use["Location"] == fresh["Location"]
        body = {
            email: CSRF_INPUT.sub("", page.content.decode()).replace(email, "EMAIL").replace(username, "USER")
            for (username, email), (_, page, _) in zip(
                [("mallory", "olga@example.com"), ("trent", "trent@example.com")], answers.values()
            )
        }
        assert body["olga@example.com"] == body["trent@example.com"]
        (notice,) = mails_to(mailoutbox, "olga@example.com")
        assert notice.subject == "[shopdemo] This address already has an account"
        assert not LINK.search(notice.body) and "mallory" in notice.body
        assert email_state_on_page(mallory) == "not confirmed"
        # Asking again sends the owner another notice, never a link.
        mallory.post("/accounts/email/resend/")
        assert not any(LINK.search(mail.body) for mail in mails_to(mailoutbox, "olga@example.com"))


class TestResend:
    def test_send_the_link_again_is_throttled(self, client, mailoutbox, clock):
        register(client)
        for _ in range(LINKS_PER_HOUR - 1):
            client.post("/accounts/email/resend/")
        assert len(mailoutbox) == LINKS_PER_HOUR
        refused = client.post("/accounts/email/resend/", follow=True)
        assert "Several links went out in the last hour" in refused.content.decode()
        assert len(mailoutbox) == LINKS_PER_HOUR
        clock.shift(3601)
        client.get("/")  # the idle limit has signed dana out meanwhile: this request is told so
        sign_in(client, "dana", NEW_PASSWORD)
        client.post("/accounts/email/resend/")
        assert len(mailoutbox) == LINKS_PER_HOUR + 1
        # Every link sent is a working one until the address is confirmed.
        assert client.get(link_in(mailoutbox[0])).status_code == 302

    def test_a_confirmed_address_gets_no_more_links(self, client, mailoutbox):
        register(client)
        client.get(link_in(mailoutbox[0]))
        client.post("/accounts/email/resend/")
        assert len(mailoutbox) == 1
        assert "Send the link again" not in client.get("/accounts/").content.decode()


class TestEmailChange:
    @pytest.fixture
    def asked(self, signed_in, user, mailoutbox):
        """alice confirms it is her (every address change asks) and asks to move to alice@new.example."""
        confirm_it_is_me(signed_in)
        signed_in.post("/accounts/email/", {"email": "alice@new.example"})
        return signed_in

    def test_the_change_waits_for_the_new_address_and_the_old_one_is_told_at_once(self, asked, user, mailoutbox):
        user.refresh_from_db()
        assert user.email == "alice@example.com"
        page = asked.get("/accounts/").content.decode()
        assert "alice@new.example" in page and "Cancel the change" in page
        (notice,) = mails_to(mailoutbox, "alice@example.com")
        assert "alice@new.example" in notice.body
        assert "http://testserver/accounts/password/reset/" in notice.body
        assert "http://testserver/accounts/sessions/" in notice.body
        assert notice.alternatives and not LINK.search(notice.body)
        (confirm,) = mails_to(mailoutbox, "alice@new.example")
        opened = asked.get(link_in(confirm))
        assert opened["Location"] == "/accounts/"
        user.refresh_from_db()
        assert user.email == "alice@new.example"
        assert email_state_on_page(asked) == "confirmed"
        assert "Cancel the change" not in asked.get("/accounts/").content.decode()
        assert asked.get(link_in(confirm)).status_code == 400  # once only
        assert AuditEvent.objects.filter(event="authn_email_change", user=user).count() == 1

    def test_the_old_addresses_reset_links_die_with_the_change(self, asked, user, mailoutbox):
        Client().post("/accounts/password/reset/", {"email": "alice@example.com"})
        reset_link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", mailoutbox[-1].body).group(1)
        asked.get(link_in(mails_to(mailoutbox, "alice@new.example")[0]))
        assert Client().get(reset_link).status_code == 400

    def test_a_cancelled_change_leaves_the_address_and_its_link_stops_working(self, asked, user, mailoutbox):
        asked.post("/accounts/email/cancel/")
        assert "Cancel the change" not in asked.get("/accounts/").content.decode()
        response = asked.get(link_in(mails_to(mailoutbox, "alice@new.example")[0]))
        assert response.status_code == 400
        user.refresh_from_db()
        assert user.email == "alice@example.com"

    def test_asking_again_for_the_same_address_voids_the_earlier_link(self, asked, user, mailoutbox, clock):
        clock.shift(5)
        confirm_it_is_me(asked)
        asked.post("/accounts/email/", {"email": "alice@new.example"})
        first, second = mails_to(mailoutbox, "alice@new.example")
        assert asked.get(link_in(first)).status_code == 400
        assert asked.get(link_in(second)).status_code == 302

    def test_a_newer_request_voids_the_older_link(self, asked, user, mailoutbox):
        confirm_it_is_me(asked)
        asked.post("/accounts/email/", {"email": "alice@newer.example"})
        assert asked.get(link_in(mails_to(mailoutbox, "alice@new.example")[0])).status_code == 400
        asked.get(link_in(mails_to(mailoutbox, "alice@newer.example")[0]))
        user.refresh_from_db()
        assert user.email == "alice@newer.example"

    def test_a_registration_link_cannot_complete_a_change(self, client, mailoutbox):
        register(client)
        verify_link = link_in(mailoutbox[0])
        client.get(verify_link)
        confirm_it_is_me(client, NEW_PASSWORD)
        client.post("/accounts/email/", {"email": "dana@other.example"})
        confirm_it_is_me(client, NEW_PASSWORD)
        client.post("/accounts/email/", {"email": "dana@example.com"})  # back to the address that link named
        assert client.get(verify_link).status_code == 400

    def test_an_address_another_account_confirmed_is_not_revealed_and_not_taken(self, signed_in, user, mailoutbox):
        owner = UserFactory(username="olga", email="olga@example.com")
        EmailState.objects.create(user=owner, confirmed="olga@example.com")
        confirm_it_is_me(signed_in)
        taken = signed_in.post("/accounts/email/", {"email": "olga@example.com"}, follow=True)
        confirm_it_is_me(signed_in)
        free = signed_in.post("/accounts/email/", {"email": "alice@free.example"}, follow=True)
        words = [
            re.search(r"We mailed a link to \S+ Your address changes when you open it", r.content.decode())
            for r in (taken, free)
        ]
        assert all(words) and taken.status_code == free.status_code == 200
        (notice,) = mails_to(mailoutbox, "olga@example.com")
        assert not LINK.search(notice.body)
        user.refresh_from_db()
        assert user.email == "alice@example.com"

    def test_the_change_needs_a_recent_re_authentication(self, signed_in, user, clock, mailoutbox):
        clock.shift(settings.REAUTH_WINDOW + 1)
        response = signed_in.post("/accounts/email/", {"email": "alice@new.example"})
        assert "Enter your password to change your email address." in response.content.decode()
        assert mailoutbox == [] and not EmailState.objects.filter(pending="alice@new.example").exists()


def test_no_confirmation_token_reaches_the_audit_trail(client, mailoutbox):
    register(client)
    path = link_in(mailoutbox[0])
    token = path.removeprefix("/accounts/email/verify/").strip("/")
    client.get(path)
    client.get(path)  # the 400
    rows = " ".join(str(values) for values in AuditEvent.objects.values_list("path", "details"))
    assert "/accounts/email/verify/[redacted]/" in rows and token not in rows


def test_existing_accounts_start_unconfirmed(client, user):
    sign_in(client, password=PASSWORD)
    assert email_state_on_page(client) == "not confirmed"
