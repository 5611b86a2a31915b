"""How long an ended session takes to be refused on every server, with Redis answering and frozen.

Two cached servers share one Redis. Each trial signs a session in on server a, has both
servers serve it (so each has copied the user), then signs it out on a; the time measured
runs from the sign-out's answer until both a and b have answered the old cookie as signed
out. In the frozen trials Redis gets SIGSTOP before the sign-out (it keeps its data and
answers nothing) and SIGCONT after both refusals: every cache call in between waits out
the socket timeout, which is what bounds the time.
"""

import signal
import statistics
import time

import requests

from bench.common import ENV, USER_AGENT, Server, log, sign_in, signed_in
from scripts.harness import free_port, start_redis, stop

TRIALS = 10
USERNAME = "bench_catalog"
GIVE_UP = 30  # seconds: an ended session served this long is a defect, not a figure


def _sign_out(server, cookies):
    answer = requests.post(
        server.base + "/accounts/logout/",
        cookies=cookies,
        headers={"User-Agent": USER_AGENT, "X-CSRFToken": cookies["csrftoken"]},
        allow_redirects=False,
    )
    if answer.status_code != 302:
        raise SystemExit(f"sign-out answered {answer.status_code}")


def _trial(a, b, redis, frozen):
    """(ms from the sign-out's answer to refused on both servers, requests served signed in meanwhile)."""
    cookies = sign_in(a, USERNAME)
    if not (signed_in(a, cookies) and signed_in(b, cookies)):
        raise SystemExit("a fresh session was not signed in on both servers")
    if frozen:
        redis.send_signal(signal.SIGSTOP)
    try:
        _sign_out(a, cookies)
        ended = time.perf_counter()
        waiting, served = {a, b}, 0
        while waiting:
            if time.perf_counter() - ended > GIVE_UP:
                raise SystemExit(f"an ended session was still served {GIVE_UP} s later")
            waiting = {server for server in waiting if signed_in(server, cookies)}
            served += len(waiting)
        return (time.perf_counter() - ended) * 1000, served
    finally:
        if frozen:
            redis.send_signal(signal.SIGCONT)


def revocation():
    """Milliseconds from "ended" to "refused everywhere", TRIALS times with Redis answering, then frozen."""
    redis_port = free_port()
    redis = start_redis(redis_port)
    cached = {**ENV, "SESSION_CACHED": "true", "CACHE_URL": f"redis://127.0.0.1:{redis_port}/0"}
    servers = []
    try:
        servers.append(Server("revocation-a", cached))
        servers.append(Server("revocation-b", cached))
        results = {}
        for state in ("answering", "frozen"):
            log(f"ended to refused everywhere, Redis {state}, {TRIALS} trials")
            times, served = zip(*(_trial(*servers, redis, frozen=state == "frozen") for _ in range(TRIALS)))
            results[state] = {
                "median": statistics.median(times),
                "worst": max(times),
                "served": sum(served),
                "trials": TRIALS,
            }
        return results
    finally:
        for server in servers:
            server.stop()
        stop(redis)
