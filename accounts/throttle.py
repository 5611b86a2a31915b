"""Per-address counts of what anyone can repeat at will: sign-ups, reset requests, presented session IDs.

Each client counts on its own, so an attacker uses up only their own allowance: an
IPv4 address by itself, an IPv6 address by its /64 (one subscriber's network, whose
addresses a single host can cycle through at will). There is no shared counter for
"everyone else", however many addresses come.

The counts live in the database (shared by every server, never evicted) as a count-min
sketch: per scope, ROWS rows of BUCKETS counters, each network hashed (with a key derived
from SECRET_KEY) into one counter of each row; its count is the smallest of them. Each
counter remembers its window and starts again at the next, so the table holds at most
ROWS x BUCKETS rows per scope whatever the number of addresses, for ever. A network is
over-counted only if each of its counters is shared with busier networks: with n networks
in a window, about (n / BUCKETS) ** ROWS, one in 10^5 for 1,000 networks. A count never
reads low, so no allowance grows.
"""

import ipaddress

from django.db import connection, transaction
from django.utils.crypto import salted_hmac

from accounts.ip import client_ip
from accounts.models import ThrottleCount
from accounts.monitoring.audit import window_start

ROWS, BUCKETS = 2, 4096
IPV6_PREFIX = 64
# One statement per counter: add one, or start again at 1 in a new window (SQLite 3.35+, PostgreSQL).
_TABLE = ThrottleCount._meta.db_table
COUNT_SQL = f"""
    INSERT INTO {_TABLE} (scope, sketch_row, bucket, window_start, hits) VALUES (%s, %s, %s, %s, 1)
    ON CONFLICT (scope, sketch_row, bucket) DO UPDATE SET
        hits = CASE WHEN {_TABLE}.window_start = excluded.window_start THEN {_TABLE}.hits + 1 ELSE 1 END,
        window_start = excluded.window_start
    RETURNING hits
"""


def network(ip: str) -> str:
    """The unit a client is counted by: the IPv4 address, or the IPv6 address's /64."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 4:
        return str(address)
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))


def hit(scope: str, *, request, window: int) -> int:
    """Count one more `scope` event from the request's network in this window; return its count so far."""
    net = network(client_ip(request))
    start = int(window_start(window).timestamp())
    counts = []
    with transaction.atomic(), connection.cursor() as cursor:
        for row in range(ROWS):
            bucket = int.from_bytes(salted_hmac(f"accounts.throttle.{scope}.{row}", net).digest()[:4]) % BUCKETS
            cursor.execute(COUNT_SQL, [scope, row, bucket, start])
            counts.append(cursor.fetchone()[0])
    return min(counts)
