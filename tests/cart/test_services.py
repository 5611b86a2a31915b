"""cart.services, called directly."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.sessions.policy import CART_SESSION_KEY
from accounts.sessions.store import SessionStore
from cart import services
from cart.models import Cart, CartItem, CartOwner, Order
from tests.factories import CartFactory, CartItemFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def lines_of(cart):
    return {item.product.slug: item.quantity for item in cart.items.select_related("product")}


def test_first_add_creates_a_guest_cart_and_records_it_in_the_session(product):
    session = SessionStore()
    services.cart_add_item(owner=CartOwner(session=session), product_id=product.pk, quantity=2)
    cart = Cart.objects.get(pk=session[CART_SESSION_KEY])
    assert cart.user is None
    assert lines_of(cart) == {"basalt-mug": 2}


def test_adding_again_sums_into_the_same_line(user, product):
    for quantity in (2, 3):
        services.cart_add_item(owner=CartOwner(user=user), product_id=product.pk, quantity=quantity)
    assert CartItem.objects.get(cart__user=user).quantity == 5


@pytest.mark.parametrize("quantity", [0, -1, 11, 10**12])
def test_quantity_out_of_range_is_refused_without_creating_a_cart(product, quantity):
    session = SessionStore()
    with pytest.raises(services.CartError, match="from 1 to 10"):
        services.cart_add_item(owner=CartOwner(session=session), product_id=product.pk, quantity=quantity)
    assert CART_SESSION_KEY not in session
    assert not Cart.objects.exists()


def test_inactive_or_unknown_product_is_not_found():
    inactive = ProductFactory(is_active=False)
    for product_id in (inactive.pk, inactive.pk + 1000):
        with pytest.raises(services.NotFound):
            services.cart_add_item(owner=CartOwner(session=SessionStore()), product_id=product_id, quantity=1)
    assert not Cart.objects.exists()


def test_line_is_capped_at_max_line_quantity(user, product):
    services.cart_add_item(owner=CartOwner(user=user), product_id=product.pk, quantity=8)
    with pytest.raises(services.CartError, match="at most 10 of Basalt Mug"):
        services.cart_add_item(owner=CartOwner(user=user), product_id=product.pk, quantity=3)
    assert CartItem.objects.get(cart__user=user).quantity == 8


def test_line_is_capped_at_stock(user):
    product = ProductFactory(name="Kiln Bowl", stock=1)
    services.cart_add_item(owner=CartOwner(user=user), product_id=product.pk, quantity=1)
    with pytest.raises(services.CartError, match=r"at most 1 of Kiln Bowl in your cart \(only 1 in stock\)"):
        services.cart_add_item(owner=CartOwner(user=user), product_id=product.pk, quantity=1)


def test_sold_out_product_cannot_be_added(user):
    product = ProductFactory(name="Seed Kit", stock=0)
    with pytest.raises(services.CartError, match="Seed Kit is sold out"):
        services.cart_add_item(owner=CartOwner(user=user), product_id=product.pk, quantity=1)


def test_set_quantity_zero_removes_the_line(user, product):
    services.cart_add_item(owner=CartOwner(user=user), product_id=product.pk, quantity=2)
    services.cart_set_quantity(owner=CartOwner(user=user), product_id=product.pk, quantity=0)
    assert not CartItem.objects.exists()


def test_set_quantity_on_another_users_line_is_not_found(user, product):
    other = UserFactory(username="mallory")
    services.cart_add_item(owner=CartOwner(user=other), product_id=product.pk, quantity=2)
    services.cart_add_item(owner=CartOwner(user=user), product_id=ProductFactory().pk, quantity=1)
    with pytest.raises(services.NotFound):
        services.cart_set_quantity(owner=CartOwner(user=user), product_id=product.pk, quantity=5)
    with pytest.raises(services.NotFound):
        services.cart_remove_item(owner=CartOwner(user=user), product_id=product.pk)
    assert CartItem.objects.get(cart__user=other).quantity == 2


def test_unavailable_line_can_only_be_removed(user, product):
    services.cart_add_item(owner=CartOwner(user=user), product_id=product.pk, quantity=2)
    product.is_active = False
    product.save()
    with pytest.raises(services.CartError, match="no longer available"):
        services.cart_set_quantity(owner=CartOwner(user=user), product_id=product.pk, quantity=1)
    services.cart_remove_item(owner=CartOwner(user=user), product_id=product.pk)
    assert not CartItem.objects.exists()


class TestMerge:
    def test_guest_lines_move_into_the_users_new_cart(self, user, product):
        guest = CartItemFactory(product=product, quantity=2).cart
        report = services.cart_merge_into_user(guest_cart_id=guest.pk, user=user)
        assert lines_of(Cart.objects.get(user=user, status="open")) == {"basalt-mug": 2}
        assert report.message == "We carried your cart over: 2 × Basalt Mug."
        guest.refresh_from_db()
        assert guest.status == Cart.Status.MERGED
        assert guest.merged_into.user == user

    def test_same_product_in_both_carts_is_summed(self, user, product):
        CartItemFactory(cart=CartFactory(user=user), product=product, quantity=3)
        guest = CartItemFactory(product=product, quantity=4).cart
        services.cart_merge_into_user(guest_cart_id=guest.pk, user=user)
        assert lines_of(Cart.objects.get(user=user, status="open")) == {"basalt-mug": 7}
        assert not guest.items.exists()

    def test_sum_over_the_line_limit_is_capped_and_said(self, user, product):
        CartItemFactory(cart=CartFactory(user=user), product=product, quantity=6)
        guest = CartItemFactory(product=product, quantity=6).cart
        report = services.cart_merge_into_user(guest_cart_id=guest.pk, user=user)
        assert lines_of(Cart.objects.get(user=user, status="open")) == {"basalt-mug": 10}
        assert "capped for Basalt Mug to 10 (the limit per product)" in report.message

    def test_sum_over_stock_is_capped_at_stock(self, user):
        bowl = ProductFactory(name="Kiln Bowl", slug="kiln-bowl", stock=3)
        CartItemFactory(cart=CartFactory(user=user), product=bowl, quantity=2)
        guest = CartItemFactory(product=bowl, quantity=2).cart
        report = services.cart_merge_into_user(guest_cart_id=guest.pk, user=user)
        assert lines_of(Cart.objects.get(user=user, status="open")) == {"kiln-bowl": 3}
        assert "Kiln Bowl to 3 (only 3 in stock)" in report.message

    def test_unavailable_product_is_kept_and_flagged_not_dropped(self, user):
        gone = ProductFactory(name="Relic Watch", slug="relic-watch", is_active=False)
        guest = CartItemFactory(product=gone, quantity=1).cart
        report = services.cart_merge_into_user(guest_cart_id=guest.pk, user=user)
        cart = Cart.objects.get(user=user, status="open")
        assert lines_of(cart) == {"relic-watch": 1}
        assert not cart.items.get().product.is_available
        assert "No longer available, kept but not orderable: Relic Watch." in report.message

    def test_replayed_merge_is_a_no_op(self, user, product):
        guest = CartItemFactory(product=product, quantity=2).cart
        services.cart_merge_into_user(guest_cart_id=guest.pk, user=user)
        second = services.cart_merge_into_user(guest_cart_id=guest.pk, user=user)
        assert second.message == ""
        assert lines_of(Cart.objects.get(user=user, status="open")) == {"basalt-mug": 2}

    def test_empty_guest_cart_merges_silently(self, user):
        guest = CartFactory()
        report = services.cart_merge_into_user(guest_cart_id=guest.pk, user=user)
        assert report.message == ""
        guest.refresh_from_db()
        assert guest.status == Cart.Status.MERGED

    def test_another_users_cart_is_never_merged(self, user, product):
        foreign = CartItemFactory(cart=CartFactory(user=UserFactory(username="bob")), product=product).cart
        services.cart_merge_into_user(guest_cart_id=foreign.pk, user=user)
        assert foreign.items.count() == 1
        assert not CartItem.objects.filter(cart__user=user).exists()

    def test_merge_queries_do_not_grow_with_lines(self):
        def merge_query_count(lines):
            owner = UserFactory()
            guest = CartFactory()
            for _ in range(lines):
                CartItemFactory(cart=guest)
            CartItemFactory(cart=CartFactory(user=owner), product=guest.items.first().product)
            with CaptureQueriesContext(connection) as queries:
                services.cart_merge_into_user(guest_cart_id=guest.pk, user=owner)
            return len(queries)

        assert merge_query_count(1) == merge_query_count(50)


class TestOrderPlace:
    def test_order_snapshots_prices_takes_stock_and_empties_the_cart(self, user, product):
        CartItemFactory(cart=CartFactory(user=user), product=product, quantity=3)
        order = services.order_place(owner=CartOwner(user=user))
        product.refresh_from_db()
        assert product.stock == 47
        assert order.total == Decimal("37.50")
        line = order.lines.get()
        assert (line.product_name, line.unit_price, line.quantity) == ("Basalt Mug", Decimal("12.50"), 3)
        product.price = Decimal("99.00")
        product.save()
        line.refresh_from_db()
        assert line.unit_price == Decimal("12.50")
        assert not CartItem.objects.filter(cart__user=user).exists()

    def test_unavailable_lines_stay_in_the_cart_and_out_of_the_order(self, user, product):
        cart = CartFactory(user=user)
        CartItemFactory(cart=cart, product=product, quantity=1)
        gone = CartItemFactory(cart=cart, product=ProductFactory(is_active=False), quantity=1)
        order = services.order_place(owner=CartOwner(user=user))
        assert order.lines.count() == 1
        assert list(cart.items.all()) == [gone]

    def test_line_over_stock_blocks_the_whole_order(self, user, product):
        cart = CartFactory(user=user)
        CartItemFactory(cart=cart, product=product, quantity=2)
        scarce = ProductFactory(name="Kiln Bowl", stock=5)
        CartItemFactory(cart=cart, product=scarce, quantity=4)
        scarce.stock = 1
        scarce.save()
        with pytest.raises(services.CartError, match="Only 1 of Kiln Bowl left in stock"):
            services.order_place(owner=CartOwner(user=user))
        product.refresh_from_db()
        assert product.stock == 50  # the first line's decrement was rolled back
        assert not Order.objects.exists()
        assert cart.items.count() == 2

    def test_a_cart_of_sold_out_lines_says_what_sold_out(self, user):
        CartItemFactory(cart=CartFactory(user=user), product=ProductFactory(name="Kiln Bowl", stock=0))
        with pytest.raises(services.CartError, match="Kiln Bowl sold out or no longer sold"):
            services.order_place(owner=CartOwner(user=user))

    def test_empty_cart_cannot_be_ordered(self, user):
        with pytest.raises(services.CartError, match="nothing that can be ordered"):
            services.order_place(owner=CartOwner(user=user))
