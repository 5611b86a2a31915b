"""The staff monitoring dashboard, and the counts it shares with `manage.py session_report`.

Everything is read from the session and audit tables with a handful of
aggregate queries, whatever the number of events. Charts are laid out here and
drawn as inline SVG by a template, with presentation attributes only: the CSP
allows no inline script or style.
"""

import functools
import itertools
import math
import operator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.contrib import admin
from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.template.response import TemplateResponse
from django.utils import timezone

from accounts.models import AuditEvent, Session, live_condition
from accounts.monitoring.audit import EVENTS
from accounts.monitoring.security import SUCCESS_EVENTS

HOURS = 24  # hourly buckets: the current hour so far and the 23 before it
LATEST = 20  # rows in the alert and hijack tables

# What each hourly series counts.
SERIES = {
    "succeeded": Q(event__in=SUCCESS_EVENTS),
    "failed": Q(event="authn_login_fail"),
    "lockouts": Q(event="authn_login_lock"),
    # Only the periodic rotation: sign-in and password change renew the key too.
    "rotations": Q(event="session_renewed", details__because="interval"),
    "expiries": Q(event="session_expired"),
}
# Blue against orange/red stays apart for colour-blind readers, and on the
# admin's light and dark themes alike (text and axes use currentColor).
COLOURS = {
    "succeeded": "#417690",
    "failed": "#d9480f",
    "lockouts": "#ba2121",
    "rotations": "#417690",
    "expiries": "#d9480f",
    "sessions": "#417690",
}

# Chart geometry, in SVG user units (pixels).
CHART_HEIGHT = 240
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 52, 12, 34, 44
MAX_BAR_WIDTH = 48
MIN_LABEL_SPACING = 40  # x labels closer than this would overlap: show every n-th


# -- counting ------------------------------------------------------------------


@dataclass(frozen=True)
class SessionCounts:
    guest: int
    signed_in: int
    remember_me: int  # signed-in sessions with "remember me"
    device_bound: int  # signed-in sessions bound to a DBSC key
    expired: int  # past expire_date, awaiting purge_sessions

    @property
    def active(self) -> int:
        return self.guest + self.signed_in

    @property
    def unbound(self) -> int:
        return self.signed_in - self.device_bound


def session_counts(now: datetime) -> SessionCounts:
    """Count active sessions by kind and expired rows awaiting purge, in one query."""
    active = live_condition(now)
    counts = Session.objects.aggregate(
        guest=Count("pk", filter=active & Q(user__isnull=True)),
        signed_in=Count("pk", filter=active & Q(user__isnull=False)),
        remember_me=Count("pk", filter=active & Q(user__isnull=False, remember=True)),
        device_bound=Count("pk", filter=active & Q(user__isnull=False, device_key__isnull=False)),
        expired=Count("pk", filter=Q(expire_date__lte=now)),
    )
    return SessionCounts(**counts)


@dataclass(frozen=True)
class Purge:
    finished_at: datetime
    duration_seconds: float
    removed: dict[str, int]  # rows by what they were ("expired_sessions", ...)


def last_purge() -> Purge | None:
    """The last purge_sessions run that finished, from its audit event; None if none is on record."""
    row = AuditEvent.objects.filter(event="sys_purge").only("created_at", "details").first()
    if row is None:
        return None
    return Purge(row.created_at, row.details["duration_seconds"], row.details["removed"])


def event_counts(*, since: datetime, until: datetime) -> dict[str, int]:
    """Count audit events by name in (since, until]; every name of the vocabulary is present."""
    rows = (
        AuditEvent.objects.filter(created_at__gt=since, created_at__lte=until)
        .values("event")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = dict.fromkeys(EVENTS, 0) | {row["event"]: row["n"] for row in rows}
    return dict(sorted(counts.items()))


def session_report(now: datetime | None = None) -> dict:
    """Return the figures of `manage.py session_report` as one JSON-ready dict."""
    now = now or timezone.now()
    sessions = session_counts(now)
    return {
        "active": {
            "guest": sessions.guest,
            "signed_in": sessions.signed_in,
            "remember_me": sessions.remember_me,
            "device_bound": sessions.device_bound,
            "unbound": sessions.unbound,
        },
        "expired_waiting_for_purge": sessions.expired,
        "events_24h": event_counts(since=now - timedelta(hours=24), until=now),
        "generated_at": now.astimezone(UTC).isoformat(timespec="seconds"),
    }


def hourly_counts(now: datetime) -> list[tuple[datetime, dict[str, int]]]:
    """Count every SERIES per hour over the last HOURS hours, oldest first, in one grouped query."""
    current = now.replace(minute=0, second=0, microsecond=0)
    hours = [current - timedelta(hours=n) for n in reversed(range(HOURS))]
    rows = (
        AuditEvent.objects.filter(functools.reduce(operator.or_, SERIES.values()))
        .filter(created_at__gte=hours[0], created_at__lte=now)
        .annotate(hour=TruncHour("created_at", tzinfo=UTC))
        .values("hour")
        .annotate(**{name: Count("pk", filter=match) for name, match in SERIES.items()})
        .order_by("hour")
    )
    found = {row.pop("hour"): row for row in rows}
    empty = dict.fromkeys(SERIES, 0)
    return [(hour, found.get(hour, empty)) for hour in hours]


# -- drawing -------------------------------------------------------------------


def axis_ticks(peak: int) -> list[int]:
    """Whole-number gridline values from 0 to at least `peak`: at most six, 1/2/5 steps."""
    peak = max(peak, 1)
    steps = (m * 10**k for k in itertools.count() for m in (1, 2, 5))
    step = next(s for s in steps if peak <= 5 * s)
    return list(range(0, math.ceil(peak / step) * step + 1, step))


@dataclass(frozen=True)
class Bar:
    series: str
    value: int
    x: float
    y: float
    width: float
    height: float
    colour: str
    row: str  # the x-axis label it stands above, for its tooltip


@dataclass(frozen=True)
class BarChart:
    """A grouped bar chart's geometry in SVG user units; templates/admin/includes/bar_chart.html draws it."""

    label: str
    summary: str
    x_label: str
    y_label: str
    width: int
    height: int
    left: int
    right: int
    top: int
    baseline: int
    gridlines: list[tuple[int, float]]  # (value, y)
    bars: list[Bar]
    x_labels: list[tuple[float, str]]  # (x, text)
    legend: list[tuple[int, str, str]]  # (x, colour, series)
    empty: bool

    @property
    def middle(self) -> tuple[float, float]:
        return (self.left + self.right) / 2, (self.top + self.baseline) / 2


def bar_chart(
    rows: list[tuple[str, dict[str, int]]],
    *,
    series: dict[str, str],
    label: str,
    x_label: str,
    y_label: str,
    width: int = 760,
) -> BarChart:
    """Lay out `rows` (label, {series: value}) as grouped bars.

    Each bar carries a <title> (its tooltip, e.g. "09:00 — failed: 3"); the
    chart's aria-label names it and gives each series' total.
    """
    plot_width = width - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = CHART_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    baseline = MARGIN_TOP + plot_height
    ticks = axis_ticks(max((v for _, values in rows for v in values.values()), default=0))
    scale = plot_height / ticks[-1]
    slot = plot_width / len(rows)
    bar_width = min(slot * 0.8 / len(series), MAX_BAR_WIDTH)
    label_every = math.ceil(MIN_LABEL_SPACING / slot)
    bars = []
    for index, (row_label, values) in enumerate(rows):
        left = MARGIN_LEFT + index * slot + (slot - bar_width * len(series)) / 2
        for position, (name, colour) in enumerate(series.items()):
            value = values.get(name, 0)
            if value:
                x = round(left + position * bar_width, 1)
                height = round(value * scale, 1)
                bars.append(
                    Bar(name, value, x, round(baseline - height, 1), round(bar_width, 1), height, colour, row_label)
                )
    totals = {name: sum(values.get(name, 0) for _, values in rows) for name in series}
    return BarChart(
        label=label,
        summary=", ".join(f"{total} {name}" for name, total in totals.items()),
        x_label=x_label,
        y_label=y_label,
        width=width,
        height=CHART_HEIGHT,
        left=MARGIN_LEFT,
        right=width - MARGIN_RIGHT,
        top=MARGIN_TOP,
        baseline=baseline,
        gridlines=[(tick, round(baseline - tick * scale, 1)) for tick in ticks],
        bars=bars,
        x_labels=[
            (round(MARGIN_LEFT + (index + 0.5) * slot, 1), row_label)
            for index, (row_label, _) in enumerate(rows)
            if index % label_every == 0
        ],
        legend=[(MARGIN_LEFT + position * 110, colour, name) for position, (name, colour) in enumerate(series.items())],
        empty=not any(totals.values()),
    )


def hourly_chart(hourly, names: list[str], *, label: str, y_label: str) -> BarChart:
    """Draw the given series of `hourly_counts()` with the hours on the x axis."""
    rows = [(f"{hour:%H}:00", {name: counts[name] for name in names}) for hour, counts in hourly]
    return bar_chart(
        rows, series={name: COLOURS[name] for name in names}, label=label, x_label="hour (UTC)", y_label=y_label
    )


def sessions_chart(counts: SessionCounts) -> BarChart:
    """Draw the active sessions split into guests, remembered and not remembered sign-ins."""
    rows = [
        ("guest", {"sessions": counts.guest}),
        ("signed in, remember me", {"sessions": counts.remember_me}),
        ("signed in, not remembered", {"sessions": counts.signed_in - counts.remember_me}),
    ]
    return bar_chart(
        rows,
        series={"sessions": COLOURS["sessions"]},
        label="Active sessions by kind",
        x_label="kind",
        y_label="sessions",
        width=520,
    )


# -- the page ------------------------------------------------------------------


def latest(event: str):
    return AuditEvent.objects.filter(event=event).only("created_at", "username", "ip", "details")[:LATEST]


def dashboard(request):
    """Show staff the last day's sign-ins, lockouts, rotations and expiries, live sessions and alerts."""
    now = timezone.now()
    hourly = hourly_counts(now)
    sessions = session_counts(now)
    context = {
        **admin.site.each_context(request),
        "title": "Monitoring dashboard",
        "now": now,
        "hours": HOURS,
        "sign_in_chart": hourly_chart(hourly, ["succeeded", "failed"], label="Sign-ins per hour", y_label="sign-ins"),
        "lockout_chart": hourly_chart(hourly, ["lockouts"], label="Lockouts per hour", y_label="lockouts"),
        "session_chart": hourly_chart(
            hourly, ["rotations", "expiries"], label="Session rotations and expiries per hour", y_label="sessions"
        ),
        "sessions": sessions,
        "sessions_chart": sessions_chart(sessions),
        "alerts": latest("security_alert"),
        "hijacks": latest("session_hijack_suspected"),
        "purge": last_purge(),
        "latest": LATEST,
    }
    return TemplateResponse(request, "admin/dashboard.html", context)
