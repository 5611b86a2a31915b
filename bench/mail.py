"""The mail queue's cost and speed (run by bench/run.py).

    python bench/mail.py enqueue ORDERS    order_place with and without its queued mail, interleaved
    python bench/mail.py worker MAILS      one db_worker sending into a local SMTP sink (aiosmtpd)

`enqueue` places ORDERS orders of one line each, alternating between the real
order_place and the same with the mail's enqueue replaced by nothing, and
reports the median time of each (the request path's database work, in
process). `worker` first queues MAILS mails at once and times one db_worker
sending them all (throughput), then queues them one by one, 50 a second, and
reports the delay from each commit to the sink's receipt (p50, p99), which
the worker's poll interval (1 s when idle) bounds. Prints one JSON object.
"""

import email
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import seed  # noqa: E402,F401  (sets Django up)
from aiosmtpd.controller import Controller  # noqa: E402
from django.db.models import Count  # noqa: E402
from django_tasks_db.models import DBTaskResult  # noqa: E402

from accounts.monitoring.security import mail_notice  # noqa: E402
from cart import services  # noqa: E402
from cart.models import Cart, CartItem, CartOwner, Product  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TRICKLE_PER_SECOND = 50
TRICKLE_MAILS = 250


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def enqueue(orders: int) -> dict:
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="bench_mail", defaults={"email": "mail@example.com"})
    product, _ = Product.objects.update_or_create(
        slug="bench-mail", defaults={"name": "Bench Mail", "description": "", "price": "1.00", "stock": 10**9}
    )
    real = services.mail_order_confirmation
    silent = type("NoMail", (), {"enqueue": staticmethod(lambda **kwargs: None)})()
    times = {"with mail": [], "without mail": []}
    try:
        for n in range(orders):
            variant = "with mail" if n % 2 else "without mail"
            services.mail_order_confirmation = real if n % 2 else silent
            cart, _ = Cart.objects.get_or_create(user=user, status=Cart.Status.OPEN)
            CartItem.objects.create(cart=cart, product=product, quantity=1)
            started = time.perf_counter()
            services.order_place(owner=CartOwner(user=user), address="", site_url="http://bench")
            times[variant].append(time.perf_counter() - started)
    finally:
        services.mail_order_confirmation = real
    medians = {variant: statistics.median(values) for variant, values in times.items()}
    return {"orders": orders, **{f"{variant} p50": value for variant, value in medians.items()}}


class Sink:
    def __init__(self):
        self.arrived = {}

    async def handle_DATA(self, server, session, envelope):
        self.arrived[email.message_from_bytes(envelope.content)["Subject"]] = time.time()
        return "250 OK"


def worker(mails: int) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    env = {**os.environ, "EMAIL_URL": f"smtp://127.0.0.1:{port}"}
    try:
        for n in range(mails):
            mail_notice.enqueue(to=["bench@example.com"], subject=f"burst {n}", body="text")
        started = time.time()
        process = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--no-reload", "--batch", "--no-startup-delay", "-v0"],
            cwd=ROOT,
            env=env,
        )
        process.wait()
        burst_seconds = time.time() - started
        burst_sent = sum(subject.startswith("[shopdemo] burst") for subject in sink.arrived)
        backlog_sent = len(sink.arrived)  # the burst and whatever earlier steps left queued (order mails)
        process = subprocess.Popen([sys.executable, "manage.py", "db_worker", "--no-reload", "-v0"], cwd=ROOT, env=env)
        time.sleep(3)  # the worker's start, not measured
        committed = {}
        for n in range(TRICKLE_MAILS):
            mail_notice.enqueue(to=["bench@example.com"], subject=f"trickle {n}", body="text")
            committed[f"[shopdemo] trickle {n}"] = time.time()  # autocommit: the row is committed
            time.sleep(1 / TRICKLE_PER_SECOND)
        deadline = time.time() + 60
        # Every trickle mail by name: the burst's worker also sent what earlier steps queued (order mails).
        while not committed.keys() <= sink.arrived.keys() and time.time() < deadline:
            time.sleep(0.1)
        process.terminate()
        process.wait()
    finally:
        controller.stop()
    delays = [sink.arrived[subject] - at for subject, at in committed.items() if subject in sink.arrived]
    return {
        "mails": mails,
        "burst_sent": burst_sent,
        "burst_seconds": burst_seconds,
        "backlog_sent": backlog_sent,
        "per_second": backlog_sent / burst_seconds,
        "trickle": TRICKLE_MAILS,
        "trickle_sent": len(delays),
        "delay_p50": percentile(delays, 0.5),
        "delay_p99": percentile(delays, 0.99),
        "left": dict(DBTaskResult.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")),
    }


if __name__ == "__main__":
    command, count = sys.argv[1], int(sys.argv[2])
    print(json.dumps({"enqueue": enqueue, "worker": worker}[command](count)))
