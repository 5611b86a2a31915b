"""Claiming: guest orders become an account's once the account confirms their address, never before."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import AuditEvent
from cart.models import Order
from tests.accounts.flows.test_email import NEW_PASSWORD, link_in, mails_to, register
from tests.conftest import confirm_it_is_me
from tests.factories import GuestOrderFactory, OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

X = "xena@example.com"


def numbers_of(username) -> set[str]:
    return set(Order.objects.filter(user__username=username).values_list("number", flat=True))


def confirm(client, mailoutbox, address):
    """Open the newest confirmation link mailed to `address`; return the page it leads to."""
    return client.get(link_in(mails_to(mailoutbox, address)[-1]), follow=True)


def test_registering_with_the_address_claims_nothing_until_it_is_confirmed_then_exactly_its_orders(
    mailoutbox, audit_log
):
    theirs = {GuestOrderFactory(email=X).number, GuestOrderFactory(email=X.upper()).number}
    elsewhere = GuestOrderFactory(email="other@example.com")
    taken = GuestOrderFactory(email=X, user=OrderFactory().user, claimed_at="2026-01-01T00:00Z")
    client = Client()
    register(client, "xena", X)
    assert numbers_of("xena") == set()
    assert not any(number in client.get("/orders/").content.decode() for number in theirs)
    page = confirm(client, mailoutbox, X).content.decode()
    assert "2 earlier orders were added to your account." in page
    assert numbers_of("xena") == theirs
    listed = client.get("/orders/").content.decode()
    assert all(number in listed for number in theirs) and elsewhere.number not in listed
    assert Order.objects.get(pk=taken.pk).user == taken.user
    (claimed,) = AuditEvent.objects.filter(event="orders_claimed")
    assert claimed.username == "xena" and claimed.details == {"count": 2, "reason": "address_confirmed"}
    assert any(line["event"] == "orders_claimed" for line in audit_log())


def test_a_second_account_confirming_the_address_later_claims_nothing_already_claimed(mailoutbox):
    first = GuestOrderFactory(email=X)
    xena = Client()
    register(xena, "xena", X)
    confirm(xena, mailoutbox, X)
    # xena moves to another address; the orders she claimed stay hers.
    confirm_it_is_me(xena, password=NEW_PASSWORD)  # an address change asks for the password every time
    xena.post("/accounts/email/", {"email": "xena@new.example"})
    confirm(xena, mailoutbox, "xena@new.example")
    later = GuestOrderFactory(email=X)  # placed by a guest after xena had moved on
    yann = Client()
    register(yann, "yann", X)
    page = confirm(yann, mailoutbox, X).content.decode()
    assert numbers_of("xena") == {first.number}
    assert numbers_of("yann") == {later.number}
    assert "1 earlier order was added to your account." in page


def test_an_email_change_claims_only_once_the_new_address_is_confirmed(signed_in, mailoutbox):
    order = GuestOrderFactory(email=X)
    confirm_it_is_me(signed_in)  # an address change asks for the password every time
    signed_in.post("/accounts/email/", {"email": X})
    assert numbers_of("alice") == set()
    confirm(signed_in, mailoutbox, X)
    assert numbers_of("alice") == {order.number}


def test_orders_of_a_deleted_account_are_never_claimed_again(mailoutbox):
    order = GuestOrderFactory(email=X)
    xena = Client()
    register(xena, "xena", X)
    confirm(xena, mailoutbox, X)
    get_user_model().objects.get(username="xena").delete()  # her orders stay, without a name
    assert Order.objects.get(pk=order.pk).user is None
    yann = Client()
    register(yann, "yann", X)
    confirm(yann, mailoutbox, X)
    assert numbers_of("yann") == set()


def test_the_admin_shows_guest_orders_with_their_email_and_whether_an_account_claimed_them(client):
    waiting = GuestOrderFactory(email="waiting@example.com")
    claimed = GuestOrderFactory(email="claimed@example.com", user=OrderFactory().user, claimed_at="2026-01-01T00:00Z")
    own = OrderFactory()
    client.force_login(UserFactory(username="staffer", is_staff=True, is_superuser=True))
    page = client.get("/admin/cart/order/").content.decode()
    assert "waiting@example.com" in page and "claimed@example.com" in page
    assert "Claimed by an account" in page and 'alt="False"' in page and 'alt="True"' in page

    def listed(placed_by):
        page = client.get(f"/admin/cart/order/?placed_by={placed_by}").content.decode()
        return {order.number for order in (waiting, claimed, own) if order.number in page}

    assert listed("guest") == {waiting.number}
    assert listed("claimed") == {claimed.number}
    assert listed("account") == {own.number}
