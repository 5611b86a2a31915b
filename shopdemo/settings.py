"""shopdemo settings: one file, every value from the environment (see .env.example)."""

import os
from datetime import timedelta
from decimal import Decimal
from email.utils import getaddresses
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from accounts import backend_paths

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Values already in the environment win; ENV_FILE=/dev/null (as `make test` sets) reads none.
environ.Env.read_env(env.str("ENV_FILE", default=str(BASE_DIR / ".env")))

# ------------------------------------------------------------------------------
# CORE
# ------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
# No production default: a missing key must stop the process, not sign cookies
# with a value everyone can read in the repository.
SECRET_KEY = env.str("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
# The shop's public origin (https://shop.example.com): links in mail are built from it
# (shopdemo.links), never from a request's Host, and passkeys accept it as their origin.
SITE_URL = env.str("SITE_URL", default="").rstrip("/")

INSTALLED_APPS = [
    "accounts.apps.ShopAdminConfig",  # django.contrib.admin with the console site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    # Only for Django's `clearsessions` command; the project's session model
    # lives in accounts.
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "django_tasks",
    "django_tasks_db",
    "accounts",
    "cart",
    "django_prometheus",  # request, database and cache metrics on /metrics
]

MIDDLEWARE = [
    # Outermost, with its twin (below) just outside axes: they time and count every request.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Above whitenoise, so that static files get the same headers as pages.
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "shopdemo.middleware.SecurityHeadersMiddleware",
    "shopdemo.middleware.RefuseNulBytesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "accounts.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Outside axes, so that a lockout page is counted as the 429 it is.
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as axes documents: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "shopdemo.urls"
WSGI_APPLICATION = "shopdemo.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cart.context_processors.storefront",
                "accounts.sessions.state.session_timeout",
            ],
        },
    },
]

# ------------------------------------------------------------------------------
# DATABASES AND CACHES
# ------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Persistent connections are worth 4x throughput here (see BENCHMARKS.md).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Bounded waits: in a web process (shopdemo/wsgi.py says so) a statement or a lock wait
# past these fails, and the visitor gets the "busy" 503 page well before the balancer's
# 30 s; its transaction is rolled back, so nothing is committed after they gave up.
# Commands (migrate, purge_sessions, db_worker) keep PostgreSQL's defaults.
DATABASE_STATEMENT_TIMEOUT = env.float("DATABASE_STATEMENT_TIMEOUT", default=10)
DATABASE_LOCK_TIMEOUT = env.float("DATABASE_LOCK_TIMEOUT", default=5)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and os.environ.get("SHOPDEMO_WEB_PROCESS"):
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
        f"-c statement_timeout={int(DATABASE_STATEMENT_TIMEOUT * 1000)}"
        f" -c lock_timeout={int(DATABASE_LOCK_TIMEOUT * 1000)}"
    )
# django-prometheus' subclass of the same backend counts queries, their time and errors.
DATABASES["default"]["ENGINE"] = DATABASES["default"]["ENGINE"].replace(
    "django.db.backends.", "django_prometheus.db.backends.", 1
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": env.cache("CACHE_URL", default="locmemcache://"),
    # Rendered template fragments that are the same for every visitor, in each process's
    # memory: a lookup costs no network round trip, and their keys name what they show, so
    # no server ever needs to be told to forget one.
    "fragments": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fragments"},
}
if CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache":
    # A cache outage must cost speed, not availability: fail fast and answer "miss".
    CACHES["default"]["OPTIONS"] = {"SOCKET_CONNECT_TIMEOUT": 0.25, "SOCKET_TIMEOUT": 0.25, "IGNORE_EXCEPTIONS": True}
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    # The same client, counting gets, hits, misses and failures for /metrics. Only Redis:
    # django-prometheus' locmem twin answers the default for a cached 0 or False.
    CACHES["default"]["BACKEND"] = "django_prometheus.cache.backends.redis.RedisCache"
# SESSION_CACHED puts copies of the user, cart and catalog rows (shopdemo.cache) in the
# shared cache, in front of the same tables; without it their alias keeps nothing. The
# session row itself is read from its table on every request either way (docs/sessions.md).
SESSION_CACHED = env.bool("SESSION_CACHED", default=False)
CACHES["copies"] = (
    {**CACHES["default"]} if SESSION_CACHED else {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
)
if "IGNORE_EXCEPTIONS" in CACHES["copies"].get("OPTIONS", {}):
    # shopdemo.cache.safely() is the copies' one failure layer.
    CACHES["copies"]["OPTIONS"] = {**CACHES["copies"]["OPTIONS"], "IGNORE_EXCEPTIONS": False}

# ------------------------------------------------------------------------------
# AUTHENTICATION
# ------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # First, so that a locked-out username/IP pair never reaches the password check.
    "axes.backends.AxesStandaloneBackend",
    # Django's and django-otp-webauthn's (a verified passkey, accounts.flows.passkeys),
    # loading the signed-in user through the session engine (accounts.backends).
    backend_paths.PASSWORD,
    backend_paths.PASSKEY,
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "cart:catalog"
LOGOUT_REDIRECT_URL = "accounts:signed_out"
# Argon2id at OWASP's parameters (accounts.hashers); PBKDF2 second, so that hashes
# made before still verify and are rehashed with Argon2id at the next sign-in.
PASSWORD_HASHERS = [
    "accounts.hashers.Argon2idHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# ------------------------------------------------------------------------------
# SESSIONS
# ------------------------------------------------------------------------------
SESSION_ENGINE = "accounts.sessions.store"
HTTPS = env.bool("HTTPS", default=False)
# The __Host- prefix pins the cookie to this host, path / and Secure (ASVS V3.3.3).
SESSION_COOKIE_NAME = "__Host-sessionid" if HTTPS else "sessionid"
SESSION_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = env.str("SESSION_COOKIE_SAMESITE", default="Lax")
if SESSION_COOKIE_SAMESITE not in ("Strict", "Lax"):
    # None would send the session cookie on cross-site requests (ASVS V3.3.2).
    raise ImproperlyConfigured("SESSION_COOKIE_SAMESITE must be Strict or Lax.")
# With a Lax session cookie, state changes need this Strict companion (accounts/sessions/same_site.py).
SESSION_SAME_SITE_COOKIE_NAME = "__Host-sessionid_same_site" if HTTPS else "sessionid_same_site"
# Server-side limits, enforced from the timestamps in the session row (docs/sessions.md
# explains each value). A guest's cart lives GUEST_SESSION_AGE.
GUEST_SESSION_AGE = env.int("GUEST_SESSION_AGE", default=14 * 24 * 3600)
SESSION_COOKIE_AGE = GUEST_SESSION_AGE
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)  # ASVS L2 V7.3.1
SESSION_ABSOLUTE_TIMEOUT = env.int("SESSION_ABSOLUTE_TIMEOUT", default=12 * 3600)  # ASVS L2 V7.3.2
SESSION_REMEMBER_IDLE = env.int("SESSION_REMEMBER_IDLE", default=14 * 24 * 3600)
SESSION_REMEMBER_ABSOLUTE = env.int("SESSION_REMEMBER_ABSOLUTE", default=30 * 24 * 3600)
SESSION_ROTATE_INTERVAL = env.int("SESSION_ROTATE_INTERVAL", default=15 * 60)
SESSION_ROTATE_GRACE = env.int("SESSION_ROTATE_GRACE", default=30)
SESSION_WARNING_BEFORE = env.int("SESSION_WARNING_BEFORE", default=120)
SESSION_BIND_USER_AGENT = env.bool("SESSION_BIND_USER_AGENT", default=True)
SESSION_BIND_IP = env.bool("SESSION_BIND_IP", default=False)
# Device Bound Session Credentials (docs/dbsc.md): browsers that support them
# bind a signed-in session to a key that never leaves the device; the bound
# cookie proving it lives DBSC_BOUND_COOKIE_AGE seconds between refreshes.
DBSC_ENABLED = env.bool("DBSC_ENABLED", default=True)
DBSC_BOUND_COOKIE_AGE = env.int("DBSC_BOUND_COOKIE_AGE", default=600)
DBSC_COOKIE_NAME = "__Host-dbsc" if HTTPS else "dbsc"
# Messages travel in a signed cookie: storing them in the session would give a
# session to every visitor who sees a message, including bots.
MESSAGE_STORAGE = "shopdemo.messages.HostCookieStorage"  # __Host-messages under HTTPS

# ------------------------------------------------------------------------------
# RE-AUTHENTICATION AND MFA
# ------------------------------------------------------------------------------
REAUTH_WINDOW = env.int("REAUTH_WINDOW", default=300)  # ASVS V7.5.1/V7.5.3
MFA_PENDING_SECONDS = env.int("MFA_PENDING_SECONDS", default=300)  # 4:V3.7.1: no half-open sessions
RECOVERY_CODES_COUNT = 10
OTP_TOTP_ISSUER = "shopdemo"
# The admin never shows a TOTP secret, its QR code or recovery codes: staff who
# may view devices would otherwise hold every user's second factor.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# ------------------------------------------------------------------------------
# ACCOUNT RECOVERY AND EMAIL CONFIRMATION (docs/recovery.md)
# ------------------------------------------------------------------------------
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)  # Django's own setting
# ASVS V6.4: reset mails per account, and reset requests per IP address, in any hour.
PASSWORD_RESET_PER_HOUR = env.int("PASSWORD_RESET_PER_HOUR", default=3)
PASSWORD_RESET_PER_IP_PER_HOUR = env.int("PASSWORD_RESET_PER_IP_PER_HOUR", default=10)
REGISTRATION_PER_IP_PER_HOUR = env.int("REGISTRATION_PER_IP_PER_HOUR", default=10)  # V6.3.8
EMAIL_VERIFY_TIMEOUT = env.int("EMAIL_VERIFY_TIMEOUT", default=3 * 24 * 3600)

# ------------------------------------------------------------------------------
# PASSKEYS (WebAuthn through django-otp-webauthn; docs/passkeys.md)
# ------------------------------------------------------------------------------
# The relying party: passkeys are bound to this domain (and its subdomains) and
# cannot be moved to another one later. The site must be opened on this host.
WEBAUTHN_RP_ID = env.str("WEBAUTHN_RP_ID", default="localhost")
WEBAUTHN_RP_NAME = env.str("WEBAUTHN_RP_NAME", default="shopdemo")
OTP_WEBAUTHN_RP_ID = WEBAUTHN_RP_ID
OTP_WEBAUTHN_RP_NAME = WEBAUTHN_RP_NAME
# The pages that may use them: the RP ID over HTTPS, SITE_URL and WEBAUTHN_ORIGINS; with the
# RP ID localhost also every http://localhost:<port> (accounts.flows.passkeys.PasskeyHelper).
WEBAUTHN_ORIGINS = [origin.rstrip("/") for origin in env.list("WEBAUTHN_ORIGINS", default=[])]
OTP_WEBAUTHN_ALLOWED_ORIGINS = [f"https://{WEBAUTHN_RP_ID}", *filter(None, [SITE_URL, *WEBAUTHN_ORIGINS])]
OTP_WEBAUTHN_HELPER_CLASS = "accounts.flows.passkeys.PasskeyHelper"  # names new passkeys after the device
# Refused answers are recorded as audit events instead of tracebacks (accounts.flows.passkeys).
OTP_WEBAUTHN_EXCEPTION_LOGGER_NAME = ""

# ------------------------------------------------------------------------------
# SECURITY
# ------------------------------------------------------------------------------
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
CSRF_COOKIE_NAME = "__Host-csrftoken" if HTTPS else "csrftoken"
CSRF_COOKIE_SECURE = HTTPS
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = SESSION_COOKIE_SAMESITE
CSRF_FAILURE_VIEW = "shopdemo.views.csrf_failure"
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 365 * 24 * 3600 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXY_COUNT else None
X_FRAME_OPTIONS = "DENY"
# Nothing here uses the camera, microphone, location, payment or USB; passkeys
# (WebAuthn) are this site's own.
PERMISSIONS_POLICY = {
    "camera": [],
    "microphone": [],
    "geolocation": [],
    "payment": [],
    "usb": [],
    "interest-cohort": [],
    "browsing-topics": [],
    "publickey-credentials-create": ["self"],
    "publickey-credentials-get": ["self"],
}

# ------------------------------------------------------------------------------
# AUDIT, DETECTION AND ALERTS (each rule is described in docs/security.md)
# ------------------------------------------------------------------------------
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=90)
ALERT_THROTTLE_SECONDS = env.int("ALERT_THROTTLE_SECONDS", default=3600)
GUESSING_WINDOW_SECONDS = env.int("GUESSING_WINDOW_SECONDS", default=60)
GUESSING_THRESHOLD = env.int("GUESSING_THRESHOLD", default=20)
DISTRIBUTED_WINDOW_SECONDS = env.int("DISTRIBUTED_WINDOW_SECONDS", default=900)
DISTRIBUTED_IP_THRESHOLD = env.int("DISTRIBUTED_IP_THRESHOLD", default=5)
ADMINS = getaddresses(env.list("ADMINS", default=[]))
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
if not DEBUG and EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend":  # noqa: F821 - set just above
    # Printed mail shares its stream with the JSON log: its links' tokens are redacted as the log's are.
    EMAIL_BACKEND = "shopdemo.console_mail.EmailBackend"
EMAIL_SUBJECT_PREFIX = "[shopdemo] "
DEFAULT_FROM_EMAIL = SERVER_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="shopdemo <security@shopdemo.localhost>")

# ------------------------------------------------------------------------------
# METRICS (/metrics for Prometheus; docs/operations.md)
# ------------------------------------------------------------------------------
# A bearer token; empty: /metrics is 404. Scrapers reach each app server directly
# (never through the public balancer), over the network the balancer already
# speaks plain HTTP on, so the HTTPS redirect leaves /metrics alone.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
SECURE_REDIRECT_EXEMPT = [r"^metrics$"]
# BACKGROUND WORK (every mail; docs/operations.md)
# ------------------------------------------------------------------------------
# Queued in the database and run by `manage.py db_worker`. The test suite sets
# the immediate backend (tests/conftest.py), which runs each task at once, in-process.
TASKS = {"default": {"BACKEND": env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend")}}
# Finished task rows older than this are deleted by purge_sessions.
TASK_RETENTION_DAYS = env.int("TASK_RETENTION_DAYS", default=14)

# ------------------------------------------------------------------------------
# AXES
# ------------------------------------------------------------------------------
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
# Username and IP together: a shared IP cannot lock out everybody, and one
# attacker cannot lock out a victim from the victim's own address.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "accounts.ip.client_ip"
AXES_LOCKOUT_TEMPLATE = "accounts/lockout.html"
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False

# ------------------------------------------------------------------------------
# SHOP
# ------------------------------------------------------------------------------
MAX_LINE_QUANTITY = env.int("MAX_LINE_QUANTITY", default=10)
# Guest checkout (docs/storefront.md): guests order with an email address; the order
# mail's signed link opens the order for GUEST_ORDER_LINK_AGE seconds.
GUEST_CHECKOUT = env.bool("GUEST_CHECKOUT", default=True)
GUEST_ORDER_LINK_AGE = env.int("GUEST_ORDER_LINK_AGE", default=30 * 24 * 3600)
GUEST_ORDERS_PER_IP_PER_HOUR = env.int("GUEST_ORDERS_PER_IP_PER_HOUR", default=10)
# Shipping (docs/storefront.md): a flat rate per order, free from a subtotal on; prices include VAT.
SHIPPING_FLAT_RATE = Decimal(env.str("SHIPPING_FLAT_RATE", default="4.90"))
SHIPPING_FREE_FROM = Decimal(env.str("SHIPPING_FREE_FROM", default="50.00"))
SHOP_FROM_EMAIL = env.str("SHOP_FROM_EMAIL", default="shopdemo <orders@shopdemo.localhost>")

# ------------------------------------------------------------------------------
# STATIC FILES, I18N
# ------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# The shop speaks English only: without the translation machinery every {% url %} and
# value a page renders skips a per-request language lookup (a sixth of the catalog's CPU).
USE_I18N = False
USE_TZ = True

# ------------------------------------------------------------------------------
# LOGGING
# ------------------------------------------------------------------------------
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured("LOG_FORMAT must be json or text.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        # One JSON object per line, with a UTC ISO 8601 timestamp (ASVS V16.2.1).
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "timestamp": True,
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}", "style": "{"},
    },
    # Emailed links carry their token in the path: no log line may show it.
    "filters": {
        "redact_secrets": {"()": "accounts.monitoring.redact.RedactSecrets"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": LOG_FORMAT,
            "filters": ["redact_secrets"],
        },
        # runserver's request lines, as Django prints them, but redacted.
        "server": {"class": "logging.StreamHandler", "formatter": "server", "filters": ["redact_secrets"]},
        # Django's error mail to ADMINS, queued for db_worker like every mail (shopdemo/mail.py).
        "mail_admins": {
            "class": "shopdemo.mail.QueuedAdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false", "redact_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # axes narrates every attempt at INFO; its warnings (failures, lockouts) are what matter.
        "axes": {"level": "WARNING"},
        "django.server": {"handlers": ["server"], "level": "INFO", "propagate": False},
        # Django's own errors: to stdout through the root, and to ADMINS through the queue.
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
    },
}
