"""seed_demo: the demo catalog and accounts, idempotent."""

import pytest
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command

from cart.models import Category, Product

pytestmark = pytest.mark.django_db


def test_seed_creates_the_catalog_once():
    call_command("seed_demo")
    assert Product.objects.filter(is_active=True).count() >= 12
    assert Product.objects.filter(is_active=False).count() == 1
    assert Product.objects.filter(is_active=True, stock=1).exists()
    Product.objects.filter(stock=1).update(stock=0)
    call_command("seed_demo")
    assert Product.objects.count() == 15
    assert not Product.objects.filter(stock=1).exists()  # a rerun does not reset stock


def test_seed_files_every_product_under_a_category_once():
    call_command("seed_demo")
    call_command("seed_demo")
    assert Category.objects.count() == 5
    assert not Product.objects.filter(category=None).exists()
    assert Product.objects.get(slug="cedar-notebook").category.name == "Desk & study"


def test_rerun_files_products_seeded_before_categories_but_keeps_staff_choices():
    call_command("seed_demo")
    lamp, mug = Product.objects.get(slug="aurora-desk-lamp"), Product.objects.get(slug="basalt-coffee-mug")
    Product.objects.filter(pk=lamp.pk).update(category=None)
    Product.objects.filter(pk=mug.pk).update(category=Category.objects.get(slug="lighting"))
    call_command("seed_demo")
    assert Product.objects.get(pk=lamp.pk).category.slug == "lighting"
    assert Product.objects.get(pk=mug.pk).category.slug == "lighting"


def test_users_need_demo_password(monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="Set DEMO_PASSWORD"):
        call_command("seed_demo", "--users")


def test_users_sign_in_with_demo_password(monkeypatch, rf):
    monkeypatch.setenv("DEMO_PASSWORD", "a-demo-passphrase")
    call_command("seed_demo", "--users")
    call_command("seed_demo", "--users")
    assert get_user_model().objects.count() == 3
    for name in ["demo", "alice", "bob"]:
        assert authenticate(rf.post("/accounts/login/"), username=name, password="a-demo-passphrase")
    assert get_user_model().objects.get(username="demo").is_staff
    assert not get_user_model().objects.get(username="alice").is_staff


def test_every_demo_product_gets_its_shipped_picture_and_alt_text_but_staff_choices_stay():
    call_command("seed_demo")
    for product in Product.objects.all():
        assert product.picture == f"img/products/{product.slug}.svg"
        assert (settings.BASE_DIR / "static" / product.picture).read_text().startswith("<svg")  # shipped, not fetched
        assert product.picture_alt and product.picture_alt != product.name
    Product.objects.filter(slug="ember-candle").update(picture="img/products/staff.svg", picture_alt="Staff's photo")
    call_command("seed_demo")
    assert Product.objects.get(slug="ember-candle").picture_alt == "Staff's photo"


def test_the_product_page_shows_the_picture_with_its_alt_text(client):
    call_command("seed_demo")
    page = client.get("/products/cedar-notebook/").content.decode()
    assert 'src="/static/img/products/cedar-notebook.svg"' in page
    assert 'alt="A brown notebook with a cream label and a red ribbon"' in page
