"""The counters this process adds to `/metrics` (accounts.monitoring.metrics reads them out).

Each is incremented in the one place that records what it counts: audit events
in `audit.record()`/`tally()`, alerts in `security.alert()`, lockouts in
`security.record_lockout()`. Under gunicorn, prometheus-client's multiprocess
mode (PROMETHEUS_MULTIPROC_DIR, set up by gunicorn.conf.py) keeps each worker's
values in a file, and a scrape adds them up. Labels are names the code defines,
never a username, an address or a session id: those are unbounded and personal.
"""

from prometheus_client import Counter

AUTH_EVENTS = Counter(
    "shopdemo_auth_events",
    "Audit events recorded, by OWASP Logging Vocabulary name.",
    ["event"],
)
ALERTS = Counter(
    "shopdemo_alerts",
    "Security alerts raised (mailed) by the detection rules, by rule; throttled repeats are not counted.",
    ["rule"],
)
LOCKOUTS = Counter("shopdemo_lockouts", "Sign-ins locked by django-axes after too many failures.")
