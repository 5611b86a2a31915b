"""The catalog as a shop: categories, search, sort, empty states, the product page; none of it starts a session."""

import re

import pytest
from django.core.cache import caches
from django.template import engines
from django.template.loaders.cached import Loader as CachedLoader
from django.test import Client

from accounts.models import Session
from cart.templatetags.product_art import ART_MIN_CONTRAST, art_colour, contrast_with_white
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

SESSION_COOKIE = "sessionid"


@pytest.fixture
def shop():
    lighting = CategoryFactory(name="Lighting", slug="lighting", position=0)
    kitchen = CategoryFactory(name="Kitchen & table", slug="kitchen-table", position=1)
    return {
        "lamp": ProductFactory(name="Aurora Desk Lamp", category=lighting, price="39.90", description="Warm LED lamp."),
        "candle": ProductFactory(name="Ember Candle", category=lighting, price="18.20", description="Soy wax."),
        "mug": ProductFactory(name="Basalt Coffee Mug", category=kitchen, price="12.50", description="Stoneware mug."),
        "bowl": ProductFactory(name="Kiln Serving Bowl", category=kitchen, price="46.00", stock=1),
        "retired": ProductFactory(name="Relic Lamp", category=lighting, is_active=False),
    }


def names(response) -> list[str]:
    """The product names on a catalog page, in the order shown."""
    return re.findall(r'class="card-link">([^<]+)</a>', response.content.decode())


class TestCatalog:
    def test_lists_active_products_by_name(self, client, shop):
        assert names(client.get("/")) == ["Aurora Desk Lamp", "Basalt Coffee Mug", "Ember Candle", "Kiln Serving Bowl"]

    def test_category_filter_shows_that_category_and_names_it(self, client, shop):
        response = client.get("/?category=lighting")
        assert names(response) == ["Aurora Desk Lamp", "Ember Candle"]
        html = response.content.decode()
        assert "<h1>Lighting</h1>" in html
        assert '<a href="?category=lighting" aria-current="page">Lighting <span class="count">2</span></a>' in html

    @pytest.mark.parametrize(
        ("q", "expected"),
        [
            ("mug", ["Basalt Coffee Mug"]),
            ("MUG", ["Basalt Coffee Mug"]),  # case-insensitive on SQLite and PostgreSQL alike
            ("lamp warm", ["Aurora Desk Lamp"]),  # every word must match: name and description
            ("kitchen", ["Basalt Coffee Mug", "Kiln Serving Bowl"]),  # the category's name counts
            ("100%", []),  # % and _ are text, not wildcards
            ("relic", []),  # inactive products are never found
        ],
    )
    def test_search(self, client, shop, q, expected):
        assert names(client.get("/", {"q": q})) == expected

    def test_search_keeps_the_category_and_counts_per_category(self, client, shop):
        html = client.get("/", {"q": "a", "category": "kitchen-table"}).content.decode()
        assert '<input type="hidden" name="category" value="kitchen-table">' in html
        assert re.search(r"All <span class=\"count\">4</span>", html)

    @pytest.mark.parametrize(
        ("sort", "expected"),
        [
            ("price", ["Basalt Coffee Mug", "Ember Candle", "Aurora Desk Lamp", "Kiln Serving Bowl"]),
            ("-price", ["Kiln Serving Bowl", "Aurora Desk Lamp", "Ember Candle", "Basalt Coffee Mug"]),
        ],
    )
    def test_sort_by_price(self, client, shop, sort, expected):
        assert names(client.get("/", {"sort": sort})) == expected

    def test_nothing_found_says_so_and_offers_everything(self, client, shop):
        response = client.get("/", {"q": "submarine"})
        assert response.status_code == 200
        html = response.content.decode()
        assert "Nothing matches “submarine”" in html
        assert '<a href="/">see all 4 products</a>' in html

    def test_empty_shop_has_a_friendly_message(self, client):
        assert "The shelves are empty" in client.get("/").content.decode()

    @pytest.mark.parametrize(
        ("query", "status", "message"),
        [
            ({"sort": "colour"}, 400, "Sort by name or by price."),
            ({"q": "x" * 101}, 400, "Search for at most 100 characters."),
            ({"category": "garden"}, 404, "There is no category by that name."),
        ],
    )
    def test_bad_filters_say_why(self, client, shop, query, status, message):
        response = client.get("/", query)
        assert response.status_code == status
        assert message in response.content.decode()

    def test_browsing_filters_and_product_pages_create_no_session(self, client, shop):
        for path in ["/?q=mug", "/?category=lighting&sort=-price", "/?sort=bad", f"/products/{shop['mug'].slug}/"]:
            assert SESSION_COOKIE not in client.get(path).cookies, path
        assert not Session.objects.exists()


class TestProductPage:
    def test_breadcrumb_leads_back_to_its_category_and_the_catalog(self, client, shop):
        html = client.get(f"/products/{shop['mug'].slug}/").content.decode()
        crumbs = re.search(r'<nav aria-label="Breadcrumb".*?</nav>', html, re.S)[0]
        assert re.findall(r'<a href="([^"]+)"', crumbs) == [
            "/",
            "/?category=kitchen-table",
            f"/products/{shop['mug'].slug}/",
        ]

    def test_you_may_also_like_shows_the_same_category_first(self, client, shop):
        html = client.get(f"/products/{shop['mug'].slug}/").content.decode()
        related = html[html.index("You may also like") :]
        # Sold-out and inactive products are not suggested; the bowl (same category) leads.
        assert re.findall(r'class="card-link">([^<]+)</a>', related) == [
            "Kiln Serving Bowl",
            "Aurora Desk Lamp",
            "Ember Candle",
        ]

    def test_has_its_own_title_and_description(self, client, shop):
        html = client.get(f"/products/{shop['mug'].slug}/").content.decode()
        assert "<title>Basalt Coffee Mug · shopdemo</title>" in html
        assert '<meta name="description" content="Basalt Coffee Mug: Stoneware mug. €12.50 at shopdemo.">' in html


class TestAddToCartBounds:
    def test_quantity_input_is_bounded_by_stock(self, client, shop):
        html = client.get(f"/products/{shop['bowl'].slug}/").content.decode()
        assert re.search(r'name="quantity" value="1" min="1" max="1"', html)

    def test_quantity_input_is_bounded_by_what_the_cart_can_still_take(self, client, shop):
        client.post("/cart/add/", {"product": shop["mug"].pk, "quantity": 7})
        html = client.get(f"/products/{shop['mug'].slug}/").content.decode()
        assert re.search(r'name="quantity" value="1" min="1" max="3"', html)
        assert "7 in your cart; you can add 3 more" in html

    def test_full_line_offers_no_add_form(self, client, shop):
        client.post("/cart/add/", {"product": shop["bowl"].pk})
        html = client.get(f"/products/{shop['bowl'].slug}/").content.decode()
        assert 'action="/cart/add/"' not in html.split("You may also like")[0]
        assert "Your cart holds 1: the most you can order (only 1 in stock)." in html

    def test_success_names_what_was_added_and_links_to_the_cart(self, client, shop):
        response = client.post(
            "/cart/add/",
            {"product": shop["mug"].pk, "quantity": 2, "next": f"/products/{shop['mug'].slug}/"},
            follow=True,
        )
        html = response.content.decode()
        assert 'Added 2 × Basalt Coffee Mug. <a href="/cart/" class="message-action">View cart</a>' in html

    def test_past_the_stock_stays_on_the_product_page_with_the_reason_and_no_session(self, client, shop):
        response = client.post("/cart/add/", {"product": shop["bowl"].pk, "quantity": 3})
        assert response.status_code == 400
        html = response.content.decode()
        assert "<h1>Kiln Serving Bowl</h1>" in html
        assert "You can have at most 1 of Kiln Serving Bowl in your cart (only 1 in stock)." in html
        assert SESSION_COOKIE not in response.cookies
        assert not Session.objects.exists()

    def test_past_the_cap_with_a_cart_says_what_it_holds(self, client, shop):
        client.post("/cart/add/", {"product": shop["mug"].pk, "quantity": 8})
        response = client.post("/cart/add/", {"product": shop["mug"].pk, "quantity": 3})
        assert response.status_code == 400
        assert (
            "You can have at most 10 of Basalt Coffee Mug in your cart (the limit per product). It holds 8 already."
            in response.content.decode()
        )
        assert client.get("/cart/summary/").json()["count"] == 8


def test_every_art_colour_keeps_aa_contrast_with_white_initials():
    for hue in range(360):
        colour = art_colour(hue)
        rgb = tuple(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
        assert contrast_with_white(rgb) >= ART_MIN_CONTRAST, (hue, colour)


class TestFragmentCache:
    """The list of product cards is rendered once per process and kept; a changed product or cart shows at once."""

    def test_a_changed_name_price_or_stock_shows_at_the_next_request(self, client):
        product = ProductFactory(name="Basalt Mug", slug="basalt-mug", price="12.50", stock=50)
        page = client.get("/").content.decode()
        assert "Basalt Mug" in page and "€12.50" in page and "in stock" in page
        product.name, product.price, product.stock = "Granite Mug", "14.00", 2
        product.save()
        page = client.get("/").content.decode()
        assert "Granite Mug" in page and "€14.00" in page and "only 2 left" in page
        assert "Basalt Mug" not in page and "€12.50" not in page

    def test_a_card_is_rendered_once_then_served_from_the_cache(self, client):
        ProductFactory(name="Basalt Mug", slug="basalt-mug", price="12.50", stock=50)
        client.get("/")
        cached = caches["fragments"]
        keys = list(cached._cache)  # locmem's own store: what the first page left there
        assert len(keys) == 1
        client.get("/")
        assert list(cached._cache) == keys

    def test_the_cards_carry_no_token_and_their_buttons_submit_the_pages_one_form(self, client, shop):
        page = client.get("/").content.decode()
        form = re.search(r'<form method="post" action="/cart/add/" id="add-to-cart" hidden>(.*?)</form>', page).group(1)
        assert 'name="csrfmiddlewaretoken"' in form and 'name="next" value="/"' in form
        cards = page.split('<ul class="products">')[1].split("</ul>")[0]
        assert "csrfmiddlewaretoken" not in cards
        button = f'<button type="submit" form="add-to-cart" name="product" value="{shop["mug"].pk}"'
        assert button in cards

    def test_a_full_line_is_shown_to_its_visitor_only(self, client, shop):
        other = Client()
        other.get("/")  # the cards as everybody sees them, now in the cache
        client.post("/cart/add/", {"product": shop["bowl"].pk})  # its whole stock
        mine, theirs = client.get("/").content.decode(), other.get("/").content.decode()
        assert f'name="product" value="{shop["bowl"].pk}"' not in mine
        assert "Your cart holds 1: the most you can order (only 1 in stock)." in mine
        assert f'name="product" value="{shop["bowl"].pk}"' in theirs and "Your cart holds" not in theirs

    def test_templates_come_through_the_cached_loader(self):
        # Parsed once per process, not at every request (Django's default without DEBUG's reloading).
        loader = engines["django"].engine.template_loaders[0]
        assert isinstance(loader, CachedLoader)


def test_cart_changes_say_what_changed(client, shop):
    client.post("/cart/add/", {"product": shop["mug"].pk, "quantity": 2})
    updated = client.post("/cart/update/", {"product": shop["mug"].pk, "quantity": 3}, follow=True).content.decode()
    assert "Your cart now holds 3 × Basalt Coffee Mug." in updated
    client.post("/cart/add/", {"product": shop["lamp"].pk})
    zero = client.post("/cart/update/", {"product": shop["lamp"].pk, "quantity": 0}, follow=True).content.decode()
    assert "Removed Aurora Desk Lamp from your cart." in zero
    removed = client.post("/cart/remove/", {"product": shop["mug"].pk}, follow=True).content.decode()
    assert "Removed Basalt Coffee Mug from your cart." in removed
    assert client.get("/cart/summary/").json()["count"] == 0
