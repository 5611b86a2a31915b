"""Guest checkout: a guest orders with an email address, keeps the order in the session, gets a signed link."""

import re

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from accounts.models import AuditEvent, Session
from accounts.monitoring.redact import redact
from cart.models import Cart, Order
from cart.order_links import MSG_BAD_LINK
from cart.services import MSG_GUEST_THROTTLED
from tests.accounts.flows.test_email import NEW_PASSWORD, email_state_on_page, link_in, mails_to
from tests.conftest import SESSION_COOKIE, sign_in

pytestmark = pytest.mark.django_db

GUEST = "gwen@example.com"
ORDER_LINK = re.compile(r"http://testserver(/orders/([A-Z0-9]+)/link/[^/\s]+/)")


@pytest.fixture
def guest_order(django_capture_on_commit_callbacks):
    """Add to the cart as a guest and check out with an email address; return the checkout's answer."""

    def place(client, product, *, email=GUEST, address="1 Quay Street", quantity=2, **headers):
        client.post("/cart/add/", {"product": product.pk, "quantity": quantity}, **headers)
        with django_capture_on_commit_callbacks(execute=True):  # the order mail goes once the order commits
            return client.post("/checkout/", {"email": email, "address": address}, **headers)

    return place


def order_link_in(mail) -> str:
    return ORDER_LINK.search(mail.body).group(1)


def test_a_guests_whole_path_from_cart_to_account(client, product, mailoutbox, audit_log, guest_order):
    client.post("/cart/add/", {"product": product.pk, "quantity": 1})
    page = client.get("/checkout/").content.decode()
    assert "Basalt Mug" in page and "Place order" in page and "€12.50" in page
    assert "Sign in" in page and "Continue as guest" in page and 'name="email"' in page
    placed = guest_order(client, product, address="1 Quay Street\nPortsmouth", quantity=1)
    order = Order.objects.get()
    assert placed.status_code == 302 and placed["Location"] == f"/orders/{order.number}/"
    total = 25 + settings.SHIPPING_FLAT_RATE  # delivered: the lines and shipping
    assert (order.email, order.user, order.total, order.address) == (GUEST, None, total, "1 Quay Street\nPortsmouth")
    product.refresh_from_db()
    assert product.stock == 48
    # The browser that placed it opens it, and is offered an account with the address filled in.
    page = client.get(placed["Location"]).content.decode()
    assert "Order " + order.number in page and "€25.00" in page and GUEST in page
    register_url = "/accounts/register/?email=gwen%40example.com&amp;next=%2Forders%2F"
    assert register_url in page
    # The mail: lines, total and the signed link, which opens the order in any browser without signing in.
    (mail,) = mailoutbox
    assert mail.to == [GUEST] and mail.subject == f"[shopdemo] Your order {order.number}"
    assert "2 x Basalt Mug at €12.50: €25.00" in mail.body and f"Total: €{total}" in mail.body
    assert "30 days" in mail.body and order_link_in(mail) in mail.alternatives[0][0]
    elsewhere = Client()
    opened = elsewhere.get(order_link_in(mail))
    assert opened.status_code == 200 and "€25.00" in opened.content.decode()
    assert SESSION_COOKIE not in opened.cookies and "no-store" in opened["Cache-Control"]
    # The account made from the confirmation page owns the order at once; the address still waits.
    form = client.get("/accounts/register/?email=gwen%40example.com&next=%2Forders%2F").content.decode()
    assert f'value="{GUEST}"' in form
    data = {"username": "gwen", "email": GUEST, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    registered = client.post("/accounts/register/", {**data, "next": "/orders/"})
    assert registered["Location"] == "/orders/"
    order.refresh_from_db()
    assert order.user.username == "gwen" and order.claimed_at is not None
    assert order.number in client.get("/orders/").content.decode()
    assert email_state_on_page(client) == "not confirmed"
    assert mails_to(mailoutbox, GUEST)[-1].subject == "[shopdemo] Confirm your email address"
    events = {(row.event, str(row.details.get("guest", row.details.get("reason")))) for row in AuditEvent.objects.all()}
    assert ("order_placed", "True") in events and ("orders_claimed", "placed_in_this_browser") in events
    assert any(line["event"] == "order_placed" for line in audit_log())
    # Confirming the address later adds nothing twice.
    confirmed = client.get(link_in(mails_to(mailoutbox, GUEST)[-1]), follow=True).content.decode()
    assert "earlier order" not in confirmed and Order.objects.get().user.username == "gwen"


def test_an_account_order_is_recorded_too_and_mailed_with_the_plain_link(
    signed_in, product, mailoutbox, django_capture_on_commit_callbacks
):
    signed_in.post("/cart/add/", {"product": product.pk})
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post("/checkout/", {"address": ""})
    order = Order.objects.get()
    assert order.email == "" and order.claimed_at is None
    assert AuditEvent.objects.get(event="order_placed").details == {"number": order.number, "guest": False}
    (mail,) = mailoutbox
    assert f"http://testserver/orders/{order.number}/" in mail.body and "/link/" not in mail.body


def test_browsing_guests_still_get_no_session(client, product):
    for path in ["/checkout/", "/orders/ABCDEFGHJK/", "/orders/ABCDEFGHJK/link/garbage/"]:
        response = client.get(path)
        assert SESSION_COOKIE not in response.cookies, path
    assert not Session.objects.exists()
    assert client.get("/checkout/")["Location"] == "/accounts/login/?next=/checkout/"  # no cart: sign in, as ever


@pytest.mark.parametrize(
    "email, message",
    [
        ("not-an-address", "Enter a valid email address"),
        ("", "Enter the email address your order confirmation should go to."),
        ("a" * 250 + "@example.com", "An email address has at most 254 characters."),
    ],
)
def test_a_bad_address_gets_the_form_again_and_orders_nothing(client, product, email, message, guest_order):
    response = guest_order(client, product, email=email)
    assert response.status_code == 400 and message in response.content.decode()
    assert "Continue as guest" in response.content.decode()
    assert not Order.objects.exists()
    product.refresh_from_db()
    assert product.stock == 50


def test_an_over_long_delivery_address_gets_the_form_again(client, product, guest_order):
    response = guest_order(client, product, address="x" * 501)
    assert response.status_code == 400 and "at most 500 characters" in response.content.decode()
    assert not Order.objects.exists()


def test_guest_orders_are_throttled_per_ip_with_the_reason(product, settings, clock, guest_order):
    settings.GUEST_ORDERS_PER_IP_PER_HOUR = 2
    for _ in range(2):
        assert guest_order(Client(), product).status_code == 302
    refused = guest_order(Client(), product)
    assert refused.status_code == 429 and MSG_GUEST_THROTTLED in refused.content.decode()
    assert Order.objects.count() == 2 and AuditEvent.objects.filter(event="order_guest_throttled").count() == 1
    assert guest_order(Client(), product, REMOTE_ADDR="203.0.113.9").status_code == 302  # another address
    clock.shift(3601)
    assert guest_order(Client(), product).status_code == 302


def test_the_link_stops_at_its_age(client, product, mailoutbox, clock, guest_order):
    guest_order(client, product)
    link = order_link_in(mailoutbox[0])
    clock.shift(settings.GUEST_ORDER_LINK_AGE - 60)
    assert Client().get(link).status_code == 200
    clock.shift(120)
    expired = Client().get(link)
    assert expired.status_code == 404 and MSG_BAD_LINK in expired.content.decode()


def test_the_link_token_is_never_logged(client, product, mailoutbox, guest_order):
    guest_order(client, product)
    path = order_link_in(mailoutbox[0])
    token = path.rstrip("/").rsplit("/", 1)[1]
    assert redact(f'"GET {path} HTTP/1.1" 200') == f'"GET {path.replace(token, "[redacted]")} HTTP/1.1" 200'
    Client().get(path.replace(token, token[:-2]))  # a 404: Django's request logger writes the path down
    rows = " ".join(str(values) for values in AuditEvent.objects.values_list("path", "details"))
    assert token not in rows


def test_purge_sessions_keeps_guest_orders(client, product, clock, guest_order):
    guest_order(client, product)
    clock.shift(settings.GUEST_SESSION_AGE + 3600)
    call_command("purge_sessions", stdout=open("/dev/null", "w"))
    assert not Session.objects.exists() and not Cart.objects.exists()
    assert Order.objects.get().email == GUEST


def test_a_guest_who_signs_in_keeps_opening_the_order_and_a_sign_out_ends_that(client, user, product, guest_order):
    placed = guest_order(client, product)
    sign_in(client, user.username)
    assert client.get(placed["Location"]).status_code == 200
    client.post("/accounts/logout/")
    assert client.get(placed["Location"]).status_code == 302
