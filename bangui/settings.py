"""BanGUI settings: one module, every value from a ``BANGUI_*`` variable.

Each variable is documented in ``.env.example``. With nothing set, BanGUI
runs on SQLite in ``./data`` with DEBUG off.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from bangui.env import (
    data_dir_private,
    data_dir_secret_key,
    env_bool,
    env_hosts,
    env_int,
    env_list,
    env_networks,
    env_secret,
    env_str,
    env_url_prefix,
)
from bangui.logs import FILTERS as _LOG_FILTERS
from bangui.logs import filters as _log_filters
from bangui.logs import formatters as _log_formatters
from bangui.logs import log_format

BASE_DIR = Path(__file__).resolve().parent.parent

# Everything BanGUI writes is its own: the database holds session keys and password
# hashes, the data dir earlier copies of fail2ban's config. Nobody else may read it.
os.umask(0o077)
DATA_DIR = Path(env_str("BANGUI_DATA_DIR", str(BASE_DIR / "data"))).resolve()
try:
    DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
except OSError as exc:
    raise ImproperlyConfigured(
        f"BANGUI_DATA_DIR={DATA_DIR} cannot be created: {exc}. Point it at a writable directory."
    ) from None
data_dir_private(DATA_DIR)

DEBUG = env_bool("BANGUI_DEBUG", False)

SECRET_KEY = env_secret("BANGUI_SECRET_KEY") or data_dir_secret_key(DATA_DIR)
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured(
        "BANGUI_SECRET_KEY is too weak: use at least 50 random characters, e.g. "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
    )

ALLOWED_HOSTS = env_list("BANGUI_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("BANGUI_ALLOWED_HOSTS is empty: list the host names BanGUI serves.")
CSRF_TRUSTED_ORIGINS = env_list("BANGUI_CSRF_TRUSTED_ORIGINS")

# Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto we believe.
BANGUI_TRUSTED_PROXIES = env_networks("BANGUI_TRUSTED_PROXIES")
# The path BanGUI is served under behind a reverse proxy ("" or e.g. "/bangui"):
# every link, redirect and cookie carries it (docs/reverse-proxy.md, bangui/subpath.py).
BANGUI_URL_PREFIX = env_url_prefix("BANGUI_URL_PREFIX")
FORCE_SCRIPT_NAME = BANGUI_URL_PREFIX or None

# fail2ban: defaults for the setup form; setup stores the chosen values.
BANGUI_FAIL2BAN_SOCKET = env_str("BANGUI_FAIL2BAN_SOCKET", "/var/run/fail2ban/fail2ban.sock")
BANGUI_FAIL2BAN_CONFIG_DIR = env_str("BANGUI_FAIL2BAN_CONFIG_DIR", "/etc/fail2ban")
BANGUI_FAIL2BAN_START_COMMAND = env_str("BANGUI_FAIL2BAN_START_COMMAND", "")
# The root broker's socket (python -m bangui.broker): when set, every fail2ban call
# goes through the broker and BanGUI can run as an unprivileged user.
BANGUI_BROKER_SOCKET = env_str("BANGUI_BROKER_SOCKET", "")
BANGUI_GEOIP_DB_PATH = env_str("BANGUI_GEOIP_DB_PATH", str(DATA_DIR / "GeoLite2-Country.mmdb"))
# No file at BANGUI_GEOIP_DB_PATH's default: the demo DB of maxminddb-geolite2
# (bangui[geo-demo]) is used if installed.
BANGUI_GEOIP_ASN_DB_PATH = env_str("BANGUI_GEOIP_ASN_DB_PATH", "")
BANGUI_GEOIP_HTTP_FALLBACK = env_bool("BANGUI_GEOIP_HTTP_FALLBACK", False)
BANGUI_GEOIP_HTTP_URL = env_str(
    "BANGUI_GEOIP_HTTP_URL",
    "http://ip-api.com/batch?fields=status,message,countryCode,country,as,org,query",
)
if not BANGUI_GEOIP_HTTP_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured("BANGUI_GEOIP_HTTP_URL must be an http:// or https:// URL.")
BANGUI_GEOIP_MAX_AGE_DAYS = env_int("BANGUI_GEOIP_MAX_AGE_DAYS", 30, minimum=1)
# Bans per country where the map's colour bands start: low, medium, high.
BANGUI_MAP_THRESHOLDS = env_str("BANGUI_MAP_THRESHOLDS", "10,50,200")
BANGUI_GEOIP_CACHE_SIZE = env_int("BANGUI_GEOIP_CACHE_SIZE", 50_000, minimum=100)

BANGUI_LOGIN_MAX_FAILURES = env_int("BANGUI_LOGIN_MAX_FAILURES", 5, minimum=1)
BANGUI_LOGIN_WINDOW_SECONDS = env_int("BANGUI_LOGIN_WINDOW_SECONDS", 60, minimum=1)
# Per account, whatever the address: rotating addresses cannot guess one password forever.
BANGUI_LOGIN_ACCOUNT_MAX_FAILURES = env_int("BANGUI_LOGIN_ACCOUNT_MAX_FAILURES", 10, minimum=1)
BANGUI_LOGIN_ACCOUNT_WINDOW_SECONDS = env_int("BANGUI_LOGIN_ACCOUNT_WINDOW_SECONDS", 900, minimum=1)
# Admins must use a second factor (TOTP) when set; everyone else may.
BANGUI_REQUIRE_TOTP_FOR_ADMINS = env_bool("BANGUI_REQUIRE_TOTP_FOR_ADMINS", False)
BANGUI_AUTH_LOG_FILE = env_str("BANGUI_AUTH_LOG_FILE", "")
# plain (default) or json: one JSON object per line (docs/logging.md).
try:
    BANGUI_LOG_FORMAT = log_format(os.environ.get("BANGUI_LOG_FORMAT"))
except ValueError as exc:
    raise ImproperlyConfigured(str(exc)) from None
BANGUI_HEALTH_INTERVAL_SECONDS = 30
BANGUI_HISTORY_SYNC_MINUTES = env_int("BANGUI_HISTORY_SYNC_MINUTES", 1, minimum=1)
BANGUI_HISTORY_BACKFILL_DAYS = env_int("BANGUI_HISTORY_BACKFILL_DAYS", 7, minimum=0)
BANGUI_HISTORY_RETENTION_DAYS = env_int("BANGUI_HISTORY_RETENTION_DAYS", 365, minimum=1)
# Blocklist downloads larger than this (after decompression) are refused.
BANGUI_BLOCKLIST_MAX_MB = env_int("BANGUI_BLOCKLIST_MAX_MB", 50, minimum=1)
# Blocklists are never downloaded from loopback, private, link-local or other internal
# addresses, except from these hosts (names, IP addresses or networks such as 10.0.0.0/8).
BANGUI_BLOCKLIST_ALLOW_HOSTS = env_hosts("BANGUI_BLOCKLIST_ALLOW_HOSTS")
# /metrics: scraped with this bearer token, or from these networks; neither set, it is off.
BANGUI_METRICS_TOKEN = env_secret("BANGUI_METRICS_TOKEN")
BANGUI_METRICS_ALLOW = env_networks("BANGUI_METRICS_ALLOW")

# Alerts (alerts/): the SMTP server email channels send through, and the address
# links in messages start with (empty: links are paths only).
BANGUI_SMTP_HOST = env_str("BANGUI_SMTP_HOST", "localhost")
BANGUI_SMTP_PORT = env_int("BANGUI_SMTP_PORT", 25, minimum=1)
BANGUI_SMTP_USER = env_str("BANGUI_SMTP_USER", "")
BANGUI_SMTP_PASSWORD = env_secret("BANGUI_SMTP_PASSWORD") or ""
BANGUI_SMTP_FROM = env_str("BANGUI_SMTP_FROM", "bangui@localhost")
BANGUI_SMTP_TLS = env_str("BANGUI_SMTP_TLS", "none")  # none, starttls or ssl
if BANGUI_SMTP_TLS not in ("none", "starttls", "ssl"):
    raise ImproperlyConfigured("BANGUI_SMTP_TLS must be none, starttls or ssl.")
BANGUI_BASE_URL = env_str("BANGUI_BASE_URL", "").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # Before django_q so that bangui's qcluster command (holds the lock) wins.
    "bangui.apps.BanguiConfig",
    "django_q",
    "jails",
    "geo",
    "blocklists",
    "alerts",
]

MIDDLEWARE = [
    # First: every response (health, static files, errors) and log line has the ID.
    "bangui.requestid.RequestIDMiddleware",
    "bangui.health.HealthCheckMiddleware",
    "bangui.metrics.latency.RequestLatencyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "bangui.middleware.ClientIPMiddleware",
    "bangui.middleware.SecurityHeadersMiddleware",
    "bangui.nulrefusal.RefuseNulMiddleware",  # admin filters: PostgreSQL refuses NUL in text
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "bangui.middleware.SetupRequiredMiddleware",
    "bangui.middleware.LoginRequiredMiddleware",
    "bangui.middleware.RoleMiddleware",
    "bangui.middleware.TimezoneMiddleware",
]

ROOT_URLCONF = "bangui.urls"
WSGI_APPLICATION = "bangui.wsgi.application"

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
                "bangui.context_processors.status",
                "bangui.context_processors.role",
                "geo.context_processors.geo_state",
                "jails.config.context_processors.recovery",
                "alerts.context_processors.alerts_failing",
            ],
        },
    },
]

_engine = env_str("BANGUI_DB_ENGINE", "sqlite")
DATABASES: dict[str, dict[str, Any]]
if _engine == "sqlite":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("BANGUI_DB_NAME", str(DATA_DIR / "bangui.sqlite3")),
            "OPTIONS": {
                # WAL lets the web process read while the job cluster writes;
                # IMMEDIATE takes the write lock up front instead of failing late.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # Each of gunicorn's threads keeps its connection: opening one per request
            # (the file, the WAL pragmas, Django's SQL functions) cost the GIL more
            # hand-offs between threads than the page's own queries (issue 16).
            "CONN_MAX_AGE": 600,
            # Tests use a file too, not SQLite's shared-cache memory database:
            # there a second writer fails at once ("database table is locked")
            # instead of waiting, which production never sees.
            "TEST": {"NAME": str(DATA_DIR / "test-bangui.sqlite3")},
        }
    }
elif _engine == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": env_str("BANGUI_DB_NAME", "bangui"),
            "USER": env_str("BANGUI_DB_USER", "bangui"),
            "PASSWORD": env_secret("BANGUI_DB_PASSWORD") or "",
            "HOST": env_str("BANGUI_DB_HOST", "localhost"),
            "PORT": env_str("BANGUI_DB_PORT", "5432"),
            "CONN_MAX_AGE": 60,
        }
    }
else:
    raise ImproperlyConfigured(f"BANGUI_DB_ENGINE={_engine!r}: use sqlite or postgres.")
# One variable instead of the BANGUI_DB_* ones (docs/postgresql.md); also as _FILE.
if _database_url := env_secret("BANGUI_DATABASE_URL"):
    from bangui.dburl import database_from_url

    DATABASES = {"default": database_from_url(_database_url)}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The name authenticator apps show next to the code.
OTP_TOTP_ISSUER = "BanGUI"
# Codes are throttled with passwords, per address and per account (bangui/auth.py);
# django-otp's own per-device delay would refuse a right code with a wrong message.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0

# Every login path goes through the throttle and the auth log (bangui/auth.py).
AUTHENTICATION_BACKENDS = ["bangui.auth.ThrottledBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"

# Sessions live in the database; their length is set per login from the
# duration chosen at setup.
# Sessions in the database, read through the process's cache: one query less per
# request (issue 16). Writes, logouts and expiry go to both.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_NAME = "bangui_session"
SESSION_COOKIE_AGE = 8 * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
_secure_cookies = env_bool("BANGUI_SECURE_COOKIES", True)
SESSION_COOKIE_SECURE = _secure_cookies
CSRF_COOKIE_SECURE = _secure_cookies
CSRF_COOKIE_HTTPONLY = True
# Under a sub-path the cookies go to BanGUI only, not to the host's other apps.
SESSION_COOKIE_PATH = CSRF_COOKIE_PATH = f"{BANGUI_URL_PREFIX}/"

SECURE_SSL_REDIRECT = env_bool("BANGUI_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^health/"]
SECURE_HSTS_SECONDS = env_int("BANGUI_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("BANGUI_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("BANGUI_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if BANGUI_TRUSTED_PROXIES:
    # ClientIPMiddleware strips this header unless it came from a trusted proxy.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# BanGUI speaks English only. With translation on, every number, date and {% url %}
# a template renders asks for the active language, which Django keeps in an asgiref
# Local guarded by one process-wide lock: under gunicorn's 8 threads that lock was
# where the requests queued (issue 16). Off, the language is the constant above.
USE_I18N = False
USE_TZ = True

# Absolute under a prefix: no look-up of Django's per-thread script prefix per asset.
STATIC_URL = f"{BANGUI_URL_PREFIX}/static/" if BANGUI_URL_PREFIX else "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("BANGUI_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The job cluster (manage.py qcluster, bangui/jobcluster.py): one process with
# django-q2's sentinel, pusher and monitor as threads, plus the workers.
# The job cluster runs at this niceness (0-19): pages come first, imports and syncs use
# what CPU is left. On a 2-core server a 100k import next to 8 busy users otherwise
# halves the pages' throughput (issue 16, docs/benchmarks.md "Load").
BANGUI_JOB_NICE = min(19, env_int("BANGUI_JOB_NICE", 10, minimum=0))

Q_CLUSTER = {
    "name": "bangui",
    "orm": "default",
    # Two, so that a long job (a blocklist import with a per-ban action runs for
    # minutes; the geo re-resolve for up to 45 s) does not hold up the 30-second
    # health check and the history sync. One saves ~25 MiB and delays those.
    "workers": env_int("BANGUI_JOB_WORKERS", 2, minimum=1),
    "timeout": 60,
    # retry must exceed timeout, or a slow task is started a second time.
    "retry": 120,
    "max_attempts": 1,
    "queue_limit": 10,
    "save_limit": 250,
    "catch_up": False,
    # Seconds between two looks at an empty queue, and between two rounds of the
    # sentinel's guard loop. At 0.5 s each (django-q2's default guard cycle)
    # they were most of the cluster's idle CPU; a task queued from a page now
    # starts within 2 s, and the scheduler still runs every 30 s.
    "poll": 2.0,
    "guard_cycle": 2.0,
    "ack_failures": True,
    "log_level": "INFO",
}

_log_handlers: dict[str, dict[str, object]] = {
    "console": {
        "class": "logging.StreamHandler",
        "formatter": BANGUI_LOG_FORMAT,
        # Every handler: the request ID, and the sanitizer (bangui/logsanitize.py).
        "filters": _LOG_FILTERS,
    },
}
_auth_handlers = ["console"]
if BANGUI_AUTH_LOG_FILE:
    _log_handlers["auth_file"] = {
        "class": "logging.handlers.WatchedFileHandler",
        "filename": BANGUI_AUTH_LOG_FILE,
        "formatter": "auth",
        "filters": _LOG_FILTERS,
    }
    _auth_handlers.append("auth_file")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # "auth": the auth log file's line, documented in README ("Failed logins") and
    # matched by contrib/fail2ban/filter.d/bangui-auth.conf, in either format.
    "formatters": _log_formatters(),
    "filters": _log_filters(),
    "handlers": _log_handlers,
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "bangui.auth": {"handlers": _auth_handlers, "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        # Django's own handlers (console when DEBUG, mail_admins) would skip the sanitizer.
        "django": {"handlers": [], "level": "INFO"},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
