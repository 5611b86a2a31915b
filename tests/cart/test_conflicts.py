"""One lock order in every cart service; a lost race is retried, then a 409, never "database down"."""

from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from accounts.sessions.policy import CART_SESSION_KEY
from accounts.sessions.store import SessionStore
from cart import services
from cart.models import CartItem, CartOwner
from tests.factories import CartItemFactory

pytestmark = pytest.mark.django_db


class Deadlock(Exception):
    """What psycopg raises for PostgreSQL's deadlock_detected."""

    sqlstate = "40P01"


def lost_race() -> OperationalError:
    error = OperationalError("deadlock detected")
    error.__cause__ = Deadlock()
    return error


@pytest.fixture
def guest_line():
    line = CartItemFactory(cart__user=None, quantity=2)
    session = SessionStore()
    session[CART_SESSION_KEY] = line.cart_id
    return line, session


def first_index(queries, *fragments):
    return next(i for i, q in enumerate(queries) if all(f in q["sql"] for f in fragments))


@pytest.mark.parametrize(
    "service, extra",
    [
        (services.cart_add_item, {"quantity": 1}),
        (services.cart_set_quantity, {"quantity": 3}),
        (services.cart_remove_item, {}),
    ],
)
def test_every_cart_service_locks_the_cart_before_touching_its_lines(guest_line, service, extra):
    line, session = guest_line
    with CaptureQueriesContext(connection) as captured:
        service(owner=CartOwner(session=session), product_id=line.product_id, **extra)
    queries = captured.captured_queries
    lock = first_index(queries, "UPDATE", '"cart_cart"')
    line_write = next(
        i for i, q in enumerate(queries) if '"cart_cartitem"' in q["sql"] and q["sql"].split()[0] != "SELECT"
    )
    assert lock < line_write


def test_a_lost_race_is_run_again_once(guest_line):
    line, session = guest_line
    with mock.patch.object(services, "_lock_cart", side_effect=[lost_race(), None]) as lock:
        services.cart_set_quantity(owner=CartOwner(session=session), product_id=line.product_id, quantity=5)
    line.refresh_from_db()
    assert line.quantity == 5 and lock.call_count == 2


def test_two_lost_races_answer_409_with_the_reason_and_change_nothing(client, guest_line):
    line, _ = guest_line
    client.post("/cart/add/", {"product": line.product_id})  # this browser's own cart, one unit
    mine = CartItem.objects.exclude(pk=line.pk).get()
    with mock.patch.object(services, "_lock_cart", side_effect=lost_race()):
        response = client.post("/cart/update/", {"product": mine.product_id, "quantity": 4})
    assert response.status_code == 409
    assert services.MSG_CONFLICT in response.content.decode()
    mine.refresh_from_db()
    assert mine.quantity == 1


def test_a_lost_race_anywhere_is_not_the_database_down_page(client):
    client.raise_request_exception = False
    with mock.patch("cart.views.selectors.catalog_list", side_effect=lost_race()):
        response = client.get("/")
    assert response.status_code == 409
    assert "cannot reach its database" not in response.content.decode()
    assert services.MSG_CONFLICT in response.content.decode()


def test_a_real_outage_still_gets_the_database_down_page(client):
    client.raise_request_exception = False
    with mock.patch("cart.views.selectors.catalog_list", side_effect=OperationalError("connection refused")):
        response = client.get("/")
    assert response.status_code == 503
