"""Benchmark data, written straight through the Django ORM (run by bench/run.py).

    python bench/seed.py setup                 users, 20 bench products, a 20-line cart, a 3-line cart
    python bench/seed.py products on|off       show/hide the bench products in the catalog
    python bench/seed.py guests N              N guest sessions' cookies, each with a 20-line cart
    python bench/seed.py guests COUNT [LINES]  guest sessions with carts of LINES (20) lines
    python bench/seed.py stock-session USER    a session of Django's stock engine (baseline settings)
    python bench/seed.py rows expired|live N   N filler rows in accounts_session (INSERT ... SELECT)
    python bench/seed.py drop-filler           delete the filler rows
    python bench/seed.py vacuum                VACUUM ANALYZE the database
    python bench/seed.py count                 rows in accounts_session
    python bench/seed.py dbinfo                PostgreSQL version and durability settings

Each command prints one JSON value on stdout. The settings come from the environment
(DJANGO_SETTINGS_MODULE, DATABASE_URL, ...), the same as the server under test.
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopdemo.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from cart.models import Cart, CartItem, Product  # noqa: E402

USER_AGENT = "shopdemo-bench/1.0"
USERS = ["bench_catalog", "bench_cart", "bench_merge", "bench_probe", "bench_summary"]
LINES = 20  # lines in the cart page's cart and in each guest cart that is merged
SUMMARY_LINES = 3  # lines in bench_summary's cart, for GET /cart/summary/
BENCH_STOCK = 10**9  # so no stock cap applies during the run
FILLER_AGENT = "bench-filler"  # marks rows created by `rows`


def bench_products():
    return list(Product.objects.filter(slug__startswith="bench-item-").order_by("slug"))


@transaction.atomic
def setup():
    """Create the bench users and products, and give bench_cart a 20-line cart; idempotent."""
    password = os.environ["DEMO_PASSWORD"]
    User = get_user_model()
    for username in USERS:
        user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
        user.set_password(password)
        user.save(update_fields=["password"])
    for n in range(1, LINES + 1):
        # Hidden until the cart scenarios, so the catalog pages list the demo catalog only.
        Product.objects.update_or_create(
            slug=f"bench-item-{n:02d}",
            defaults={
                "name": f"Bench Item {n:02d}",
                "price": "1.00",
                "stock": BENCH_STOCK,
                "description": "Benchmark product.",
                "is_active": False,
            },
        )
    cart, _ = Cart.objects.get_or_create(user=User.objects.get(username="bench_cart"), status=Cart.Status.OPEN)
    cart.items.all().delete()
    CartItem.objects.bulk_create(CartItem(cart=cart, product=p, quantity=1) for p in bench_products())
    summary, _ = Cart.objects.get_or_create(user=User.objects.get(username="bench_summary"), status=Cart.Status.OPEN)
    summary.items.all().delete()
    demo = Product.objects.filter(is_active=True).order_by("pk")[:SUMMARY_LINES]
    CartItem.objects.bulk_create(CartItem(cart=summary, product=p, quantity=2) for p in demo)
    return {
        "bench_products": [p.pk for p in bench_products()],
        "demo_products": list(Product.objects.filter(is_active=True).values_list("pk", flat=True)),
    }


def products(state):
    return Product.objects.filter(slug__startswith="bench-item-").update(is_active=state == "on")


def new_guest_sessions(count: int, lines: int = 20) -> list[dict]:
    """Create `count` guest sessions of the project's engine, each holding a cart of `lines` lines (at most 20).

    Returns each one's cookies: the session's and its Strict companion, which a state change needs."""
    from django.conf import settings

    from accounts.sessions import same_site
    from accounts.sessions.policy import CART_SESSION_KEY
    from accounts.sessions.store import SessionStore

    items = bench_products()[:lines]
    carts = Cart.objects.bulk_create(Cart() for _ in range(count))
    CartItem.objects.bulk_create(CartItem(cart=c, product=p, quantity=1) for c in carts for p in items)
    jars = []
    for cart in carts:
        session = SessionStore(ip="127.0.0.1", user_agent=USER_AGENT)
        session[CART_SESSION_KEY] = cart.pk
        session.create()
        key = session.session_key
        companion = same_site.value_for(key)
        jars.append({settings.SESSION_COOKIE_NAME: key, settings.SESSION_SAME_SITE_COOKIE_NAME: companion})
    return jars


def stock_session(username: str) -> str:
    """A signed-in session of Django's stock db engine (needs DJANGO_SETTINGS_MODULE=bench.baseline_settings)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    user = get_user_model().objects.get(username=username)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def rows(kind: str, count: int) -> int:
    """Insert `count` expired or live filler sessions in one statement, then VACUUM ANALYZE the table."""
    if connection.vendor != "postgresql":
        raise SystemExit("bench rows needs PostgreSQL (generate_series)")
    # Expired: 1 to 30 days ago; live: 1 to 14 days ahead, as a real table would hold.
    expire = (
        "now() - (1 + random() * 29) * interval '1 day'"
        if kind == "expired"
        else "now() + (1 + random() * 13) * interval '1 day'"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO accounts_session (session_key, session_data, expire_date, public_id, user_id, ip,
                user_agent, remember, guest_cart_id, created_at, last_activity, successor_key, successor_seal)
            SELECT encode(sha256((random()::text || g::text)::bytea), 'hex'), repeat('x', 120), {expire},
                   substr(md5(g::text || random()::text), 1, 22), NULL, '127.0.0.1',
                   %s, false, NULL, now() - interval '30 days', now() - interval '1 day', NULL, ''
            FROM generate_series(1, %s) AS g
            """,
            [FILLER_AGENT, count],
        )
        inserted = cursor.rowcount
        # Clears the previous phase's dead rows and gives the planner fresh statistics,
        # so each measurement starts from the same kind of table.
        cursor.execute("VACUUM ANALYZE accounts_session")
    return inserted


def vacuum() -> None:
    """VACUUM ANALYZE the whole database, so autovacuum has nothing to catch up on mid-measurement."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def drop_filler() -> int:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_session WHERE user_agent = %s", [FILLER_AGENT])
        deleted = cursor.rowcount
        cursor.execute("VACUUM ANALYZE accounts_session")
    return deleted


def dbinfo() -> dict:
    with connection.cursor() as cursor:
        info = {}
        for name in ("server_version", "fsync", "synchronous_commit", "shared_buffers"):
            cursor.execute(f"SHOW {name}")
            info[name] = cursor.fetchone()[0]
    return info


def count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_session")
        return cursor.fetchone()[0]


def main(argv):
    command, args = argv[0], argv[1:]
    result = {
        "setup": lambda: setup(),
        "products": lambda: products(args[0]),
        "guests": lambda: new_guest_sessions(*map(int, args)),
        "stock-session": lambda: stock_session(args[0]),
        "rows": lambda: rows(args[0], int(args[1])),
        "drop-filler": lambda: drop_filler(),
        "vacuum": lambda: vacuum(),
        "count": lambda: count(),
        "dbinfo": lambda: dbinfo(),
    }[command]()
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
