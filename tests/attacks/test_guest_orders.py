"""Someone else's guest order: forging its link, opening it from another session, probing addresses, claiming it.

Threat-model row: "Opening, probing or taking someone's guest order".
"""

import re
from urllib.parse import quote

import pytest
from django.core import signing
from django.test import Client

from accounts.flows import email as email_flow
from accounts.models import EmailState
from cart import order_links
from cart.models import Order
from tests.accounts.flows.test_email import CSRF_INPUT, mails_to, register
from tests.cart.test_guest_checkout import order_link_in
from tests.conftest import confirm_it_is_me
from tests.factories import GuestOrderFactory, UserFactory

pytestmark = pytest.mark.django_db

VICTIM = "vera@example.com"
digest = order_links._digest


@pytest.fixture
def placed(client, product, mailoutbox, django_capture_on_commit_callbacks):
    """vera's guest order, placed in `client`; returns (order, the path of its mailed link)."""
    client.post("/cart/add/", {"product": product.pk, "quantity": 3})
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/checkout/", {"email": VICTIM, "address": "4 Secret Lane"})
    return Order.objects.get(email=VICTIM), order_link_in(mailoutbox[-1])


def refused_without_a_trace(response, order):
    body = response.content.decode()
    assert response.status_code == 404 and order_links.MSG_BAD_LINK in body
    assert "4 Secret Lane" not in body and VICTIM not in body and "€" not in body.split("<main")[1]


def swap_token(path, token):
    return re.sub(r"/link/[^/]+/$", f"/link/{token}/", path)


class TestTheOrderLink:
    def test_the_real_link_opens_the_order(self, placed):
        order, path = placed
        assert "4 Secret Lane" in Client().get(path).content.decode()

    @pytest.mark.parametrize(
        "forge",
        [
            # The same payload signed under another of the site's salts (a confirmation link's).
            lambda order: signing.dumps({"n": order.number, "e": digest(order.email)}, salt=email_flow.SALT),
            # Signed with the link's own salt (the site's key leaked) but not naming the address's digest.
            lambda order: signing.dumps({"n": order.number, "e": order.email}, salt=order_links.SALT),
            lambda order: signing.dumps({"n": order.number}, salt=order_links.SALT),
            lambda order: "garbage",
            lambda order: "%FF:::",  # with a NUL too it is refused earlier, by RefuseNulBytesMiddleware (400)
        ],
    )
    def test_a_forged_link_is_refused(self, placed, forge):
        order, path = placed
        refused_without_a_trace(Client().get(swap_token(path, forge(order))), order)

    @pytest.mark.parametrize("at", [0, 10, -1])
    def test_a_tampered_link_is_refused(self, placed, at):
        order, path = placed
        token = path.rstrip("/").rsplit("/", 1)[1]
        flipped = token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1 :] if at != -1 else token[:-1] + "x"
        refused_without_a_trace(Client().get(swap_token(path, flipped)), order)

    def test_another_orders_link_opens_neither_order(self, placed):
        order, path = placed
        mine = GuestOrderFactory(email="mallory@example.com")
        my_token = order_links.order_link_token(mine)
        # My own order's token under vera's number: the number in the path must be the token's.
        refused_without_a_trace(Client().get(swap_token(path, my_token)), order)

    def test_a_link_dies_if_the_orders_address_is_no_longer_the_one_it_was_mailed_to(self, placed):
        order, path = placed
        Order.objects.filter(pk=order.pk).update(email="changed@example.com")
        refused_without_a_trace(Client().get(path), order)

    def test_an_accounts_order_has_no_link(self, user):
        order = Order.objects.create(number="ACCOUNT123", user=user, total=10)
        token = signing.dumps({"n": order.number, "e": order_links._digest("")}, salt=order_links.SALT)
        assert Client().get(f"/orders/{order.number}/link/{token}/").status_code == 404


class TestAnotherSession:
    def test_another_guest_session_cannot_open_the_order(self, placed, product):
        order, _ = placed
        mallory = Client()
        mallory.post("/cart/add/", {"product": product.pk})  # a guest session of its own
        response = mallory.get(f"/orders/{order.number}/")
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
        assert "4 Secret Lane" not in mallory.get(f"/orders/{order.number}/", follow=True).content.decode()

    def test_a_signed_in_stranger_gets_404(self, placed, user):
        order, _ = placed
        stranger = Client()
        stranger.force_login(user)
        assert stranger.get(f"/orders/{order.number}/").status_code == 404

    def test_a_session_cannot_name_an_order_it_did_not_place(self, placed, product):
        """The order numbers a session holds are written only by checkout; nothing a visitor posts adds one."""
        order, _ = placed
        mallory = Client()
        mallory.post("/cart/add/", {"product": product.pk})
        mallory.post("/checkout/", {"email": "mallory@example.com", "guest_orders": order.number})
        assert mallory.get(f"/orders/{order.number}/").status_code == 302


# Each rendered form's own id (the same order sent twice is placed once): random, like the CSRF token.
REQUEST_ID_INPUT = re.compile(r'<input type="hidden" name="request_id" value="[^"]*">')


class TestEnumeration:
    def answers_for(self, email, product, django_capture_on_commit_callbacks, mailoutbox):
        client = Client()
        client.post("/cart/add/", {"product": product.pk})
        form = client.get("/checkout/")
        with django_capture_on_commit_callbacks(execute=True):
            placed = client.post("/checkout/", {"email": email, "address": ""})
        order = Order.objects.get(email=email, claimed_at__isnull=True, user__isnull=True, lines__isnull=False)
        page = client.get(placed["Location"])
        mail = mails_to(mailoutbox, email)[-1]

        def plain(text):
            text = (
                CSRF_INPUT.sub("", REQUEST_ID_INPUT.sub("", text))
                .replace(email, "EMAIL")
                .replace(quote(email), "EMAIL")
            )
            text = text.replace(order.number, "NUMBER")
            text = re.sub(r"<time [^>]*>[^<]*</time>", "<time>T</time>", text)  # when it was placed
            return re.sub(r"/link/[^/\s\"]+/", "/link/TOKEN/", text).replace(order.created_at.strftime("%H:%M"), "T")

        return {
            "form": (form.status_code, plain(form.content.decode())),
            "placed": (placed.status_code, plain(placed["Location"]), plain(placed.content.decode())),
            "page": (page.status_code, plain(page.content.decode())),
            "mail": (plain(mail.subject), plain(mail.body)),
        }

    def test_an_address_with_an_account_and_orders_is_answered_like_a_fresh_one(
        self, product, django_capture_on_commit_callbacks, mailoutbox
    ):
        known = "kim@example.com"
        EmailState.objects.create(user=UserFactory(username="kim", email=known), confirmed=known)
        GuestOrderFactory(email=known)
        GuestOrderFactory(email=known, user=UserFactory(), claimed_at="2026-01-01T00:00Z")
        args = (product, django_capture_on_commit_callbacks, mailoutbox)
        assert self.answers_for(known, *args) == self.answers_for("nobody@example.com", *args)


class TestClaimingWithoutConfirmation:
    def test_registering_with_the_victims_address_claims_nothing(self, placed, mailoutbox):
        order, _ = placed
        mallory = Client()
        register(mallory, "mallory", VICTIM)
        assert Order.objects.get(pk=order.pk).user is None
        assert order.number not in mallory.get("/orders/").content.decode()
        # The confirmation link went to the victim's mailbox, not to mallory.
        assert mails_to(mailoutbox, VICTIM)[-1].subject == "[shopdemo] Confirm your email address"

    def test_asking_to_change_to_the_victims_address_claims_nothing(self, placed, user, clock):
        order, _ = placed
        mallory = Client()
        mallory.post("/accounts/login/", {"username": user.username, "password": "correct-horse-battery-9"})
        confirm_it_is_me(mallory)  # an address change asks for the password every time
        mallory.post("/accounts/email/", {"email": VICTIM})
        assert EmailState.objects.get(user=user).pending == VICTIM
        assert Order.objects.get(pk=order.pk).user is None

    def test_the_order_link_is_not_a_claim(self, placed):
        order, path = placed
        mallory = Client()
        register(mallory, "mallory", "mallory@example.com")
        mallory.get(path)
        assert Order.objects.get(pk=order.pk).user is None
