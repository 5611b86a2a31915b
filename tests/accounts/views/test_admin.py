"""The Django admin as staff use it: sessions, carts, orders, axes records."""

import pytest
from django.test import Client

from accounts.admin import admin_session_url
from accounts.models import AuditEvent, Session
from tests.conftest import sign_in
from tests.factories import CartItemFactory, OrderLineFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(username="staffer", is_staff=True, is_superuser=True))
    return client


def test_sessions_list_shows_who_and_from_where(staff_client, user, password):
    shopper = Client()
    sign_in(shopper, HTTP_USER_AGENT="ShopperBrowser/1.0")
    row = Session.objects.get(user=user)
    page = staff_client.get("/admin/accounts/session/").content.decode()
    assert "alice" in page and "ShopperBrowser/1.0" in page and "signed in" in page and row.public_id in page
    detail = staff_client.get(admin_session_url(row.public_id)).content.decode()
    assert "_auth_user_hash" in detail and "[hidden]" in detail and "_auth_at" in detail
    assert row.session_key not in detail


def test_session_data_cannot_be_edited(staff_client, user, password):
    sign_in(Client())
    row = Session.objects.get(user=user)
    staff_client.post(admin_session_url(row.public_id), {"ip": "6.6.6.6"})
    row.refresh_from_db()
    assert row.ip == "127.0.0.1"


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/admin/cart/product/", "Granite Bookends"),
        ("/admin/cart/cart/", "bob"),
        ("/admin/cart/order/", "ORDERNUMBR"),
        ("/admin/axes/accessattempt/", "mallory"),
        ("/admin/axes/accesslog/", "carol"),
    ],
)
def test_staff_see_shop_and_axes_records(staff_client, path, shown):
    CartItemFactory(cart__user=UserFactory(username="bob"), product__name="Granite Bookends")
    OrderLineFactory(order__number="ORDERNUMBR")
    sign_in(Client(), "mallory", password="wrong")  # axes: an access attempt
    sign_in(Client(), UserFactory(username="carol").username)  # axes: an access log
    response = staff_client.get(path)
    assert response.status_code == 200 and shown in response.content.decode()


def test_cart_detail_shows_its_lines(staff_client):
    line = CartItemFactory(product__name="Granite Bookends", quantity=2)
    page = staff_client.get(f"/admin/cart/cart/{line.cart_id}/change/").content.decode()
    assert "Granite Bookends" in page


def test_shoppers_cannot_open_the_admin(client, user):
    client.force_login(user)
    response = client.get("/admin/accounts/session/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


class TestSessionConsole:
    def test_list_shows_kind_device_and_cart_units_in_a_bounded_number_of_queries(
        self, staff_client, user, password, product, django_assert_max_num_queries
    ):
        guest = Client(
            HTTP_USER_AGENT="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"
        )
        guest.post("/cart/add/", {"product": product.pk, "quantity": 3})
        shopper = Client()
        sign_in(shopper, remember=True)
        shopper.post("/cart/add/", {"product": product.pk, "quantity": 2})
        for _ in range(10):
            Client().post("/cart/add/", {"product": product.pk})
        with django_assert_max_num_queries(12):
            page = staff_client.get("/admin/accounts/session/").content.decode()
        assert "iOS" in page and "guest" in page
        row = Session.objects.get(user=user)
        assert '<td class="field-cart_units">2</td>' in page
        assert '<td class="field-cart_units">3</td>' in page
        assert row.public_id in page

    def test_filters(self, staff_client, user, password, product):
        Client().post("/cart/add/", {"product": product.pk})
        sign_in(Client(), remember=True)
        assert "alice" not in staff_client.get("/admin/accounts/session/?kind=guest").content.decode()
        remembered = staff_client.get("/admin/accounts/session/?remember__exact=1").content.decode()
        assert "alice" in remembered and remembered.count('class="field-kind"') == 1
        assert "0 sessions" in staff_client.get("/admin/accounts/session/?state=expired").content.decode()

    def test_end_selected_sessions_signs_the_browser_out_and_records_it(self, staff_client, user, password):
        shopper = Client()
        sign_in(shopper)
        row = Session.objects.get(user=user)
        response = staff_client.post(
            "/admin/accounts/session/", {"action": "end_sessions", "_selected_action": [row.public_id]}, follow=True
        )
        assert "Ended 1 session." in response.content.decode()
        assert "Signed in as" not in shopper.get("/").content.decode()
        assert AuditEvent.objects.get(event="session_expired").details == {"reason": "ended_by_staff"}

    def test_end_all_sessions_of_a_user(self, staff_client, user, password):
        for _ in range(2):
            sign_in(Client())
        response = staff_client.post(
            "/admin/auth/user/", {"action": "end_all_sessions", "_selected_action": [user.pk]}, follow=True
        )
        assert "Ended 2 sessions." in response.content.decode()
        assert not Session.objects.filter(user=user).exists()

    def test_a_session_whose_id_looks_quoted_opens_from_its_link(self, staff_client, user, password):
        sign_in(Client())
        odd = "a_3Bb_5Fc_2Fd-1234567890abcd"  # "_3B" etc. are what the admin's unquote() turns back into ";"
        Session.objects.filter(user=user).update(public_id=odd)
        listing = staff_client.get("/admin/accounts/session/").content.decode()
        assert admin_session_url(odd) in listing
        detail = staff_client.get(admin_session_url(odd))
        assert detail.status_code == 200 and odd in detail.content.decode()

    def test_session_detail_lists_its_events(self, staff_client, user, password):
        sign_in(Client())
        row = Session.objects.get(user=user)
        page = staff_client.get(admin_session_url(row.public_id)).content.decode()
        assert "authn_login_success" in page and "session_created" in page

    def test_audit_events_are_listed_read_only(self, staff_client, user, password):
        sign_in(Client(), password="wrong")
        page = staff_client.get("/admin/accounts/auditevent/?event__exact=authn_login_fail").content.decode()
        assert "authn_login_fail" in page and "alice" in page
        by_ip = staff_client.get("/admin/accounts/auditevent/?ip__exact=127.0.0.1&event__exact=authn_login_fail")
        assert "1 audit event" in by_ip.content.decode()
        event = AuditEvent.objects.get(event="authn_login_fail")
        assert staff_client.post(f"/admin/accounts/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
        assert AuditEvent.objects.filter(pk=event.pk).exists()

    def test_non_staff_visit_is_recorded_as_authz_fail(self, client, user):
        client.force_login(user)
        client.get("/admin/accounts/session/")
        assert AuditEvent.objects.filter(event="authz_fail", user=user).exists()


def test_the_admin_signs_in_through_the_site_form_with_its_mfa_step(client):
    response = client.get("/admin/login/?next=/admin/accounts/session/")
    assert response["Location"] == "/accounts/login/?next=/admin/accounts/session/"
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_no_admin_page_but_the_sessions_table_shows_a_session_key(staff_client, user, password):
    shopper = Client()
    sign_in(shopper, password="wrong")
    sign_in(shopper)
    keys = list(Session.objects.values_list("session_key", flat=True))
    event = AuditEvent.objects.filter(user=user).first()
    pages = [
        "/admin/",
        "/admin/dashboard/",
        "/admin/accounts/auditevent/",
        f"/admin/accounts/auditevent/{event.pk}/change/",
        "/admin/auth/user/",
        f"/admin/auth/user/{user.pk}/change/",
        "/admin/axes/accessattempt/",
        "/admin/axes/accesslog/",
    ]
    for path in pages:
        page = staff_client.get(path).content.decode()
        assert not any(key in page for key in keys), path
