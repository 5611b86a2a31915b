"""Fill the catalog with demo products (and, with --users, demo accounts); safe to rerun."""

import os
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify

from cart.models import Category, Product

DEMO_USERS = ["demo", "alice", "bob"]
STAFF_USER = "demo"  # staff and superuser, to show the admin

# The catalog's filter shows them in this order.
CATEGORIES = ["Lighting", "Kitchen & table", "Textiles", "Desk & study", "Outdoors"]

# (name, category, price, stock, description); stock 1 and one inactive product show the edge cases.
PRODUCTS = [
    ("Aurora Desk Lamp", "Lighting", "39.90", 25, "Warm dimmable LED lamp with a weighted oak base."),
    ("Basalt Coffee Mug", "Kitchen & table", "12.50", 60, "Stoneware mug, 350 ml, glazed in volcanic grey."),
    ("Cedar Notebook", "Desk & study", "8.75", 40, "A5 dot-grid notebook with 160 pages of 100 g paper."),
    ("Drift Wool Blanket", "Textiles", "89.00", 8, "Merino throw, 130 x 180 cm, woven in Portugal."),
    ("Ember Candle", "Lighting", "18.20", 30, "Soy wax candle with cedar and smoked vanilla."),
    ("Fjord Water Bottle", "Outdoors", "24.00", 50, "Insulated steel bottle that keeps drinks cold for 24 h."),
    ("Granite Bookends", "Desk & study", "34.00", 4, "A pair of solid granite bookends, hand-finished."),
    ("Harbor Tote Bag", "Outdoors", "22.00", 35, "Heavy canvas tote with an inside pocket."),
    ("Indigo Linen Napkins", "Kitchen & table", "27.50", 20, "Set of four stonewashed linen napkins."),
    ("Juniper Tea Tin", "Kitchen & table", "15.90", 45, "Loose-leaf green tea with juniper, 100 g."),
    ("Kiln Serving Bowl", "Kitchen & table", "46.00", 1, "One-off hand-thrown serving bowl: the last one."),
    ("Lumen Reading Light", "Lighting", "29.00", 15, "Clip-on reading light with three colour temperatures."),
    ("Meadow Seed Kit", "Outdoors", "11.00", 0, "Wildflower seeds for a square metre of meadow."),
    ("Nimbus Cushion", "Textiles", "32.00", 12, "Cloud-soft cushion, 45 x 45 cm, removable cover."),
]
INACTIVE = ("Relic Pocket Watch", "Desk & study", "120.00", 3, "No longer sold.")

# Each product's picture (static/img/products/<slug>.svg, drawn for this project) and what it shows.
PICTURES = {
    "aurora-desk-lamp": "A blue desk lamp with a warm light, on a round oak base",
    "basalt-coffee-mug": "A dark grey stoneware mug with steam rising",
    "cedar-notebook": "A brown notebook with a cream label and a red ribbon",
    "drift-wool-blanket": "A folded lilac wool blanket with fringes",
    "ember-candle": "A lit cream candle with a caramel band, on a dark background",
    "fjord-water-bottle": "A teal steel water bottle with a white wave band",
    "granite-bookends": "Two grey granite bookends holding four coloured books",
    "harbor-tote-bag": "A sand-coloured canvas tote bag with a navy pocket",
    "indigo-linen-napkins": "A stack of folded napkins in three shades of indigo",
    "juniper-tea-tin": "A green tea tin with a juniper berry label",
    "kiln-serving-bowl": "A rust-brown hand-thrown serving bowl",
    "lumen-reading-light": "A grey clip-on reading light casting a pale yellow beam",
    "meadow-seed-kit": "A paper seed packet with three wildflowers",
    "nimbus-cushion": "A soft light-blue square cushion",
    "relic-pocket-watch": "A brass pocket watch with a white face",
}


class Command(BaseCommand):
    help = "Create the demo catalog (idempotent). --users also creates demo/alice/bob with $DEMO_PASSWORD."

    def add_arguments(self, parser):
        parser.add_argument("--users", action="store_true", help="also create the demo accounts")

    @transaction.atomic
    def handle(self, *args, users, **options):
        categories = {
            name: Category.objects.get_or_create(slug=slugify(name), defaults={"name": name, "position": position})[0]
            for position, name in enumerate(CATEGORIES)
        }
        created = 0
        for name, category, price, stock, description in [*PRODUCTS, INACTIVE]:
            # get_or_create: rerunning never resets stock or prices changed since.
            product, was_created = Product.objects.get_or_create(
                slug=slugify(name),
                defaults={
                    "name": name,
                    "category": categories[category],
                    "price": Decimal(price),
                    "stock": stock,
                    "description": description,
                    "is_active": name != INACTIVE[0],
                },
            )
            if product.category_id is None:  # seeded before categories existed; never overrides staff's choice
                Product.objects.filter(pk=product.pk).update(category=categories[category])
            if not product.picture:  # seeded before pictures existed; never overrides staff's choice
                Product.objects.filter(pk=product.pk).update(
                    picture=f"img/products/{product.slug}.svg", picture_alt=PICTURES[product.slug]
                )
            created += was_created
        self.stdout.write(f"Catalog: {created} products created, {Product.objects.count()} in all.")
        if users:
            self._create_users()

    def _create_users(self):
        password = os.environ.get("DEMO_PASSWORD")
        if not password:
            raise CommandError("Set DEMO_PASSWORD to create the demo accounts (there is no default).")
        User = get_user_model()
        for username in DEMO_USERS:
            user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
            user.set_password(password)
            user.is_staff = user.is_superuser = username == STAFF_USER
            user.save(update_fields=["password", "is_staff", "is_superuser"])
        self.stdout.write(
            f"Users: {', '.join(DEMO_USERS)} sign in with the password in DEMO_PASSWORD; {STAFF_USER} is staff."
        )
