"""The Django admin as staff use it: sessions, carts, orders, axes records."""
import pytest
from django.test import Client

from accounts.models import Session
from tests.factories import CartItemFactory, OrderLineFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(username="staffer", is_staff=True, is_superuser=True))
    return client


def test_sessions_list_shows_who_and_from_where(staff_client, user, password):
    shopper = Client()
    shopper.post("/accounts/login/", {"username": "alice", "password": password}, HTTP_USER_AGENT="ShopperBrowser/1.0")
    row = Session.objects.get(user=user)
    page = staff_client.get("/admin/accounts/session/").content.decode()
    assert "alice" in page and "ShopperBrowser/1.0" in page and "signed in" in page and row.public_id in page
    detail = staff_client.get(f"/admin/accounts/session/{row.pk}/change/").content.decode()
    assert "_auth_user_id" in detail and "hidden: derived from the password hash" in detail
    # The key is the row's primary key, so it is in the admin's own links, but never displayed.
    assert row.session_key not in detail.replace(f"/admin/accounts/session/{row.pk}/", "")


def test_session_data_cannot_be_edited(staff_client, user, password):
    Client().post("/accounts/login/", {"username": "alice", "password": password})
    row = Session.objects.get(user=user)
    staff_client.post(f"/admin/accounts/session/{row.pk}/change/", {"ip": "6.6.6.6"})
    row.refresh_from_db()
    assert row.ip == "127.0.0.1"


@pytest.mark.parametrize(
    "path",
    ["/admin/cart/product/", "/admin/cart/cart/", "/admin/cart/order/", "/admin/axes/accessattempt/", "/admin/axes/accesslog/"],
)
def test_staff_see_shop_and_axes_pages(staff_client, path):
    CartItemFactory()
    OrderLineFactory()
    assert staff_client.get(path).status_code == 200


def test_cart_detail_shows_its_lines(staff_client):
    line = CartItemFactory(product__name="Granite Bookends", quantity=2)
    page = staff_client.get(f"/admin/cart/cart/{line.cart_id}/change/").content.decode()
    assert "Granite Bookends" in page


def test_shoppers_cannot_open_the_admin(client, user):
    client.force_login(user)
    response = client.get("/admin/accounts/session/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
