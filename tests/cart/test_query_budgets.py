"""Query budgets of the pages people hit most: fixed numbers, whatever the data."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import sign_in
from tests.factories import CartFactory, CartItemFactory, ProductFactory

pytestmark = pytest.mark.django_db


def queries_for(client, path):
    client.get(path)  # warm: the first request after sign-in may record activity
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def test_signed_in_catalog_costs_session_user_badge_and_products(client, user):
    ProductFactory.create_batch(12)
    sign_in(client)
    sql = queries_for(client, "/")
    # 1 session row, 1 user, 1 cart badge (one aggregate), 1 product list: nothing per product.
    assert len(sql) == 4, sql
    assert sum("accounts_session" in query for query in sql) == 1
    assert not any(query.startswith(("UPDATE", "INSERT")) for query in sql)


def test_guest_catalog_with_a_cart_costs_session_badge_and_products(client, product):
    ProductFactory.create_batch(11)
    client.post("/cart/add/", {"product": product.pk})
    assert len(queries_for(client, "/")) == 3


@pytest.mark.parametrize("page", ["/cart/", "/cart/summary/", "/checkout/"])
def test_cart_pages_cost_the_same_for_1_and_50_lines(client, user, page):
    def count_with(lines):
        cart = CartFactory(user=user)
        CartItemFactory.create_batch(lines, cart=cart)
        client.force_login(user)
        count = len(queries_for(client, page))
        cart.delete()
        return count

    assert count_with(1) == count_with(50)


@pytest.mark.parametrize("page", ["/cart/", "/checkout/"])
def test_a_page_that_shows_the_lines_reads_the_cart_once_for_them_and_the_badge(client, user, page):
    CartItemFactory.create_batch(3, cart=CartFactory(user=user))
    client.force_login(user)
    sql = queries_for(client, page)
    assert sum('"cart_cartitem"' in query for query in sql) == 1, sql


def test_a_refused_add_reads_its_product_once_for_the_refusal_and_the_page(client):
    scarce = ProductFactory(stock=1)
    with CaptureQueriesContext(connection) as captured:
        response = client.post("/cart/add/", {"product": scarce.pk, "quantity": 2})
    assert response.status_code == 400 and scarce.name in response.content.decode()
    product_reads = [
        q["sql"] for q in captured.captured_queries if '"cart_product"' in q["sql"] and q["sql"].endswith("LIMIT 1")
    ]
    assert len(product_reads) == 1, product_reads


def guest_with_lines(client, count):
    for product in ProductFactory.create_batch(count):
        client.post("/cart/add/", {"product": product.pk})


def statements(queries) -> list[str]:
    """The SQL that does work: savepoints (one per atomic block) left out."""
    return [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


@pytest.mark.parametrize("lines", [1, 20])
def test_guest_checkout_page_costs_session_and_lines(client, lines):
    guest_with_lines(client, lines)
    assert len(queries_for(client, "/checkout/")) == 2


@pytest.mark.parametrize("lines", [1, 20])
def test_placing_a_guest_order_costs_a_fixed_budget_plus_one_stock_update_per_line(client, lines, mail_queue):
    guest_with_lines(client, lines)
    with CaptureQueriesContext(connection) as captured:
        placed = client.post("/checkout/", {"email": "gwen@example.com", "address": ""})
    assert placed.status_code == 302
    sql = statements(captured.captured_queries)
    # Session, the hour's guest orders from this address, the cart (locked), its lines, the order,
    # its lines in one INSERT, the cart lines' DELETE, the audit row, the queued mail (one row for
    # db_worker), the session's new order number;
    # and the guarded stock decrement of each line.
    stock_updates = [query for query in sql if query.startswith('UPDATE "cart_product"')]
    assert len(stock_updates) == lines
    assert len(sql) - lines == 10, sql


@pytest.mark.parametrize("lines", [1, 20])
def test_a_guest_order_page_costs_the_same_for_1_and_20_lines(client, lines):
    guest_with_lines(client, lines)
    page = client.post("/checkout/", {"email": "gwen@example.com", "address": ""})["Location"]
    # Session, the order, its lines, the (now empty) cart's badge.
    assert len(queries_for(client, page)) == 4
