"""factory-boy factories for every model."""

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import Session, hash_key
from cart.models import Cart, CartItem, Category, Order, OrderLine, Product

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"shopper{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")

    @factory.post_generation
    def password(user, create, extracted, **kwargs):
        user.set_password(extracted or PASSWORD)
        if create:
            user.save(update_fields=["password"])


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    description = "A fine thing."
    price = Decimal("10.00")
    stock = 50
    is_active = True


class CartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cart

    user = None


class CartItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CartItem

    cart = factory.SubFactory(CartFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 1


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"ORDER{n:05d}")
    user = factory.SubFactory(UserFactory)
    total = Decimal("10.00")


class GuestOrderFactory(OrderFactory):
    user = None
    email = factory.Sequence(lambda n: f"guest{n}@example.com")


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    product_name = factory.LazyAttribute(lambda line: line.product.name)
    unit_price = Decimal("10.00")
    quantity = 1


class SessionFactory(factory.django.DjangoModelFactory):
    """A stored session, made through the engine so its data is encoded as Django does."""

    class Meta:
        model = Session

    class Params:
        key = factory.Sequence(lambda n: f"{n:0>32}")  # what the cookie would carry

    session_key = factory.LazyAttribute(lambda o: hash_key(o.key))
    session_data = factory.LazyFunction(lambda: Session.get_session_store_class()().encode({}))
    expire_date = factory.LazyFunction(lambda: timezone.now() + timezone.timedelta(days=1))
    user = None
    ip = "127.0.0.1"
    user_agent = "pytest"
