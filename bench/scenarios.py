"""The wrk scenarios: requests one by one, the session-bound endpoint, two servers, the session-table size."""

import requests

from bench.common import (
    ADD_GUESTS,
    BASELINE_ENV,
    ENV,
    LIVE_ROWS,
    PASSWORD,
    PBKDF2_ENV,
    POOL_ENV,
    ROUNDS,
    SECONDS,
    SMALL_TABLE,
    USER_AGENT,
    WARMUP,
    Balancer,
    Server,
    browser,
    get,
    helper,
    log,
    post,
    sign_in,
    signed_in,
)
from bench.load import abab, mean_run, wrk
from scripts.harness import free_port, start_redis, stop


def scenarios(shop, base, ids):
    """Run the wrk scenarios; return their results by key."""
    rows = {}
    rows["anon"] = wrk(shop, [get("/")], "anonymous catalog")

    # ABAB: the baseline's stock session and a fresh shopdemo sign-in for each round,
    # after a short unrecorded warm-up of both servers.
    stock_key = helper("seed", "stock-session", "bench_catalog", env=BASELINE_ENV)
    cookies = sign_in(shop, "bench_catalog")
    base_cookies = {"csrftoken": cookies["csrftoken"], "sessionid": stock_key}
    wrk(base, [get("/", base_cookies)], "warm-up baseline", seconds=WARMUP)
    wrk(shop, [get("/", cookies)], "warm-up shopdemo", seconds=WARMUP)
    base_runs, shop_runs = [], []
    for round_no in range(1, ROUNDS + 1):
        cookies = sign_in(shop, "bench_catalog")
        base_cookies = {"csrftoken": cookies["csrftoken"], "sessionid": stock_key}
        for server, jar in ((base, base_cookies), (shop, cookies)):
            if not signed_in(server, jar):
                raise SystemExit(f"the cookie for {server.log_path.stem}'s signed-in catalog signs nobody in")
        base_runs.append(wrk(base, [get("/", base_cookies)], f"baseline signed-in catalog {round_no}"))
        shop_runs.append(wrk(shop, [get("/", cookies)], f"shopdemo signed-in catalog {round_no}"))
        if not signed_in(shop, cookies):
            log("WARNING: the shopdemo session was signed out during the run")
    rows["baseline"] = mean_run(base_runs, "baseline")
    rows["signed_in"] = mean_run(shop_runs, "signed-in")

    helper("seed", "products", "on")
    # Guest add-to-cart: guests whose first add created their session, each add a 302.
    guests = []
    for n in range(ADD_GUESTS):
        b = browser()
        b.get(shop.base + "/")
        r = b.post(
            shop.base + "/cart/add/",
            data={"product": ids["bench_products"][n], "quantity": 1},
            headers={"X-CSRFToken": b.cookies["csrftoken"]},
            allow_redirects=False,
        )
        assert r.status_code == 302 and "sessionid" in b.cookies, r.status_code
        guests.append(b.cookies.get_dict())
    adds = [post("/cart/add/", g, f"product={p}&quantity=1") for p in ids["bench_products"] for g in guests]
    rows["add"] = wrk(shop, adds, "guest add-to-cart")

    # Guest checkout: every POST a fresh guest session with a 1-line cart (one use each),
    # then the order page of one guest who placed an order.
    count = max(500, 400 * SECONDS)  # one use each: more than the fastest run here (250/s) can spend
    log(f"creating {count} guest sessions with 1-line carts")
    token = guests[0]["csrftoken"]
    checkouts = [
        post("/checkout/", {"csrftoken": token, **jar}, f"email=bench{n}%40example.com&address=")
        for n, jar in enumerate(helper("seed", "guests", count, 1))
    ]
    rows["checkout"] = wrk(shop, checkouts, "guest checkout (1-line cart)", one_use=True)
    b = browser()
    b.get(shop.base + "/")
    b.post(
        shop.base + "/cart/add/",
        data={"product": ids["bench_products"][0], "quantity": 1},
        headers={"X-CSRFToken": b.cookies["csrftoken"]},
    )
    placed = b.post(
        shop.base + "/checkout/",
        data={"email": "bench@example.com", "address": ""},
        headers={"X-CSRFToken": b.cookies["csrftoken"]},
        allow_redirects=False,
    )
    assert placed.status_code == 302, placed.status_code
    guest = b.cookies.get_dict()
    rows["order_page"] = wrk(shop, [get(placed.headers["Location"], guest)], "guest's order page")

    cart_cookies = sign_in(shop, "bench_cart")
    rows["cart"] = wrk(shop, [get("/cart/", cart_cookies)], "signed-in cart page (20 lines)")

    # Merge: every request a fresh guest session with a 20-line cart (one use each), signing in
    # with Argon2id (shopdemo), then with PBKDF2 (the same settings, PBKDF2 first).
    rows["merge"] = merge_sign_ins(shop, cart_cookies["csrftoken"], "sign-in merging a 20-line guest cart")
    pbkdf2 = Server("pbkdf2", PBKDF2_ENV)
    try:
        sign_in(pbkdf2, "bench_merge")  # rehashes bench_merge's password with PBKDF2 before the run
        rows["merge_pbkdf2"] = merge_sign_ins(pbkdf2, cart_cookies["csrftoken"], "sign-in merging, PBKDF2")
    finally:
        pbkdf2.stop()
    return rows


def merge_sign_ins(server, token, label):
    """wrk sign-ins of bench_merge, each from a fresh guest session holding a 20-line cart."""
    # Password hashing makes a sign-in cost ~0.05-0.5 s of CPU: 30 per second of run is plenty.
    count = max(200, 60 * SECONDS)  # one use each: more than the fastest run here (45/s) can spend
    log(f"creating {count} guest sessions with 20-line carts")
    body = f"username=bench_merge&password={requests.utils.quote(PASSWORD)}"
    merges = [post("/accounts/login/", {"csrftoken": token, **jar}, body) for jar in helper("seed", "guests", count)]
    return wrk(server, merges, label, one_use=True)


def scaling(shop, base):
    """Session-bound endpoint, ceiling, two servers through HAProxy, and the connection pool."""
    redis_port = free_port()
    redis = start_redis(redis_port)
    servers = []
    # The demo catalog (14 products), the page the other catalog rows measure; on again for the probe.
    helper("seed", "products", "off")
    try:
        cached = Server("cached", {**ENV, "SESSION_CACHED": "true", "CACHE_URL": f"redis://127.0.0.1:{redis_port}/0"})
        servers.append(cached)
        shop_b = Server("shopdemo-b", ENV)
        servers.append(shop_b)
        pool = Server("pool", POOL_ENV)
        servers.append(pool)
        pool_b = Server("pool-b", POOL_ENV)
        servers.append(pool_b)
        balancer = Balancer(shop, shop_b)
        servers.append(balancer)
        pool_balancer = Balancer(pool, pool_b, name="haproxy-pool")
        servers.append(pool_balancer)
        results = {}

        shop_cookies = sign_in(shop, "bench_summary")
        stock = {
            "csrftoken": shop_cookies["csrftoken"],
            "sessionid": helper("seed", "stock-session", "bench_summary", env=BASELINE_ENV),
        }
        cached_cookies = sign_in(cached, "bench_summary")
        for server, jar in ((base, stock), (shop, shop_cookies), (cached, cached_cookies)):
            summary = requests.get(
                server.base + "/cart/summary/", cookies=jar, headers={"User-Agent": USER_AGENT}
            ).json()
            if len(summary["lines"]) != 3:
                raise SystemExit(f"{server.log_path.stem}: /cart/summary/ shows {len(summary['lines'])} lines, not 3")
        results["summary"] = abab(
            "cart summary",
            [
                ("stock", base, [get("/cart/summary/", stock)]),
                ("db", shop, [get("/cart/summary/", shop_cookies)]),
                ("cached", cached, [get("/cart/summary/", cached_cookies)]),
            ],
        )

        catalog = sign_in(shop, "bench_catalog")
        cached_catalog = sign_in(cached, "bench_catalog")
        results["ceiling"] = abab(
            "ceiling",
            [
                ("healthz", shop, [get("/healthz")]),
                ("catalog", shop, [get("/", catalog)]),
                ("catalog_cached", cached, [get("/", cached_catalog)]),
            ],
        )
        results["balancer"] = abab(
            "two servers", [("direct", shop, [get("/", catalog)]), ("haproxy", balancer, [get("/", catalog)])]
        )
        pool_catalog = sign_in(pool, "bench_catalog")
        results["pool"] = abab(
            "connections",
            [
                ("conn_max_age", shop, [get("/", catalog)]),
                ("pool", pool, [get("/", pool_catalog)]),
                ("conn_max_age_two", balancer, [get("/", catalog)]),
                ("pool_two", pool_balancer, [get("/", pool_catalog)]),
            ],
        )
        return results
    finally:
        for server in reversed(servers):
            server.stop()
        stop(redis)
        helper("seed", "products", "on")


def live_rows(shop):
    """Signed-in catalog with a small session table, a large one, and the small one again."""
    runs = []
    for size in (SMALL_TABLE, LIVE_ROWS, SMALL_TABLE):
        if size == SMALL_TABLE:
            helper("seed", "drop-filler")
        missing = size - helper("seed", "count")
        if missing > 0:
            log(f"inserting {missing} live session rows")
            helper("seed", "rows", "live", missing)
        cookies = sign_in(shop, "bench_catalog")
        result = wrk(shop, [get("/", cookies)], f"signed-in catalog, {size:,} live sessions")
        result["rows"] = helper("seed", "count")
        runs.append(result)
    helper("seed", "drop-filler")
    return runs
