"""The order confirmation mail: what it says, when it goes, and that it can never cost the order."""

import contextlib
import smtplib
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.mail.backends.locmem import EmailBackend
from django_tasks_db.models import DBTaskResult

from cart.models import Order
from tests.factories import CartFactory, CartItemFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cart(user, product):
    cart = CartFactory(user=user)
    CartItemFactory(cart=cart, product=product, quantity=2)
    CartItemFactory(cart=cart, product=ProductFactory(name="Linen Towel", price="4.00"), quantity=1)
    return cart


def place(client, user, django_capture_on_commit_callbacks):
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        return client.post("/checkout/", {"address": "1 Quay Street\nPortsmouth"})


def test_placing_an_order_mails_number_lines_total_and_link(
    client, user, cart, mailoutbox, django_capture_on_commit_callbacks
):
    response = place(client, user, django_capture_on_commit_callbacks)
    order = Order.objects.get()
    (mail,) = mailoutbox
    assert mail.to == ["alice@example.com"]
    assert mail.from_email == settings.SHOP_FROM_EMAIL  # a shop address, not the security notices' one
    assert mail.subject == f"[shopdemo] Your order {order.number}"
    assert "2 x Basalt Mug at €12.50: €25.00" in mail.body
    assert "1 x Linen Towel at €4.00: €4.00" in mail.body
    assert "Subtotal: €29.00" in mail.body
    assert f"Shipping: €{settings.SHIPPING_FLAT_RATE}" in mail.body  # under SHIPPING_FREE_FROM
    assert f"Total: €{Decimal('29.00') + settings.SHIPPING_FLAT_RATE}" in mail.body
    assert "we'll mail you again when it ships" in mail.body
    assert f"http://testserver/orders/{order.number}/" in mail.body
    html, mimetype = mail.alternatives[0]
    assert mimetype == "text/html"
    assert "Linen Towel" in html and "€29.00" in html and f'href="http://testserver/orders/{order.number}/"' in html
    # The link leads the owner to the order.
    assert client.get(response["Location"]).status_code == 200 and response["Location"] == f"/orders/{order.number}/"


def test_a_refused_order_mails_nothing(client, user, product, mailoutbox, django_capture_on_commit_callbacks):
    CartItemFactory(cart=CartFactory(user=user), product=product, quantity=60)  # more than the stock of 50
    assert place(client, user, django_capture_on_commit_callbacks).status_code == 409
    assert mailoutbox == [] and not Order.objects.exists()


def test_a_relay_that_is_down_delays_the_mail_never_the_order(client, user, cart, mailoutbox, monkeypatch, worker):
    def relay_down(self, messages):
        raise smtplib.SMTPServerDisconnected("relay down")

    response = place(client, user, lambda **kwargs: contextlib.nullcontext())
    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.number}/"
    assert order.lines.count() == 2 and not cart.items.exists()
    # The answer came before any relay was asked: the mail waits in the queue.
    (queued,) = DBTaskResult.objects.all()
    assert queued.status == "READY" and queued.task_path == "cart.services.mail_order_confirmation"
    monkeypatch.setattr(EmailBackend, "send_messages", relay_down)
    worker()
    assert mailoutbox == []
    queued.refresh_from_db()
    assert queued.status == "FAILED" and "relay down" in queued.traceback
    retry = DBTaskResult.objects.get(status="READY")
    assert retry.args_kwargs["kwargs"] == {"order_id": order.pk, "site_url": "http://testserver", "attempt": 1}
