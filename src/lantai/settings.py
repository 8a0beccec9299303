"""Django settings for Lantai. Everything an operator changes comes from the environment."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from lantai.conf import data_dir, env_bool, env_list, secret_key

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = data_dir()

SECRET_KEY = secret_key(DATA_DIR)
DEBUG = env_bool("LANTAI_DEBUG", False)
ALLOWED_HOSTS = env_list("LANTAI_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("LANTAI_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "axes",
    "huey.contrib.djhuey",
    "lantai.core",
    "lantai.accounts",
    "lantai.audit",
    "lantai.jobs",
    "lantai.holdings",
    "lantai.storage",
    "lantai.ingest",
    "lantai.preservation",
    "lantai.accession",
    "lantai.vault",
    "lantai.search",
    "lantai.digitisation",
    "lantai.opening",
    "lantai.portal",
    "lantai.utilization",
    "lantai.livelihood",
    "lantai.oai",
    "lantai.supervision",
    "lantai.outreach",
    "lantai.statistics",
    "lantai.ops",
    # django-ninja in INSTALLED_APPS makes its docs page use its bundled Swagger UI, not a CDN.
    "ninja",
    "lantai.api",
]

MIDDLEWARE = [
    # First, so a request's time includes every other middleware.
    "lantai.ops.metrics.MetricsMiddleware",
    "lantai.ops.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "lantai.core.middleware.SessionRefreshMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "lantai.core.middleware.RequestContextMiddleware",
    # AxesMiddleware must come last: it turns a lockout into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "lantai.urls"
WSGI_APPLICATION = "lantai.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "lantai.core.context_processors.site",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
# Default: one SQLite file under the data dir, WAL journal, foreign keys on, IMMEDIATE
# transactions (so two writers queue instead of failing half-way with "database is locked").
DEFAULT_SQLITE = f"sqlite:///{DATA_DIR / 'lantai.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or DEFAULT_SQLITE,
        # Persistent connections (seconds; 0: one per request). A new connection costs every
        # request its set-up, and on SQLite an empty page cache and a re-read schema as well
        # (a search at a million items took ~8 ms more per request). The health check at
        # the start of a request replaces a connection the database server dropped.
        conn_max_age=int(os.environ.get("LANTAI_DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            "PRAGMA foreign_keys=ON;"
            "PRAGMA synchronous=NORMAL;"
            "PRAGMA busy_timeout=30000;"
            "PRAGMA cache_size=-65536;"
            "PRAGMA temp_store=MEMORY;"
            "PRAGMA mmap_size=268435456;"
        ),
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test_lantai.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts, passwords, sessions ---------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses a locked-out user before a password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

# Sessions expire after 30 idle minutes (sliding) and when the browser closes. The expiry
# slides at most once a minute (core.middleware.SessionRefreshMiddleware), not with a write
# on every request.
SESSION_COOKIE_AGE = int(os.environ.get("LANTAI_SESSION_SECONDS", "1800"))
SESSION_SAVE_EVERY_REQUEST = False
LANTAI_SESSION_REFRESH_SECONDS = int(os.environ.get("LANTAI_SESSION_REFRESH_SECONDS", "60"))
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("LANTAI_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Login throttling (django-axes): lock a username+address after repeated failures.
AXES_FAILURE_LIMIT = int(os.environ.get("LANTAI_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LANTAI_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

# --- Cache -------------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Search results (search.services.search), shared by every worker process: Redis when
# configured, else files under the data dir (local memory would give each gunicorn worker a
# cache of its own). LANTAI_SEARCH_CACHE_SECONDS = 0 switches it off.
LANTAI_SEARCH_CACHE_SECONDS = int(os.environ.get("LANTAI_SEARCH_CACHE_SECONDS", "300"))
if REDIS_URL:
    CACHES["search"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "lantai-search",
    }
else:
    CACHES["search"] = {
        "BACKEND": "lantai.core.cache.FileBasedCache",
        "LOCATION": str(DATA_DIR / "cache" / "search"),
        "OPTIONS": {"MAX_ENTRIES": 20_000, "CULL_FREQUENCY": 4, "CULL_EVERY": 100},
    }

# --- Background jobs (huey) ----------------------------------------------------------------
# LANTAI_QUEUE: "sqlite" (default, a durable file under the data dir), "redis" (REDIS_URL,
# for workers on several machines) or "immediate" (run in-process; tests only).
_WORKERS = int(os.environ.get("LANTAI_WORKERS", "2"))
LANTAI_QUEUE = os.environ.get("LANTAI_QUEUE") or ("redis" if REDIS_URL else "sqlite")
if LANTAI_QUEUE == "redis":
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": os.environ.get("LANTAI_QUEUE_NAME", "lantai"),
        "url": REDIS_URL or "redis://127.0.0.1:6379/0",
        "immediate": False,
        "utc": True,
        "consumer": {"workers": _WORKERS, "worker_type": "thread"},
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": os.environ.get("LANTAI_QUEUE_NAME", "lantai"),
        "filename": str(DATA_DIR / "queue.sqlite3"),
        "immediate": LANTAI_QUEUE == "immediate",
        "utc": True,
        "consumer": {"workers": _WORKERS, "worker_type": "thread"},
    }
# A running job that has not beaten its heart for this long is taken as dead (worker killed).
LANTAI_JOB_STALE_SECONDS = int(os.environ.get("LANTAI_JOB_STALE_SECONDS", "60"))

# --- Internationalisation: Chinese first --------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = os.environ.get("LANTAI_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files --------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = DATA_DIR / "media"
FILE_UPLOAD_PERMISSIONS = 0o640

# --- Archive-specific rules (defaults; most are also editable in the database) ---------------
LANTAI_ARCHIVE_NAME = os.environ.get("LANTAI_ARCHIVE_NAME", "兰台区档案馆")
LANTAI_ARCHIVE_CODE = os.environ.get("LANTAI_ARCHIVE_CODE", "411001")
LANTAI_AUDIT_HASH = os.environ.get("LANTAI_AUDIT_HASH", "sm3")  # "sm3" or "sha256"
LANTAI_PAGE_SIZE = int(os.environ.get("LANTAI_PAGE_SIZE", "50"))
# 全宗号 format (a regular expression the whole code must match): a letter and 3 digits.
LANTAI_FONDS_CODE_PATTERN = os.environ.get("LANTAI_FONDS_CODE_PATTERN", r"[A-Z][0-9]{3}")
# Earliest 年度 accepted when describing holdings (older archives may lower it).
LANTAI_MIN_YEAR = int(os.environ.get("LANTAI_MIN_YEAR", "1900"))
# Accession statistics compare holdings with the end of this year (e.g. "+51% since 2015").
LANTAI_BASELINE_YEAR = int(os.environ.get("LANTAI_BASELINE_YEAR", "2015"))
# Safe reading of uploaded ZIP files (lantai.core.safearchive): total uncompressed bytes, number
# of entries, and the largest compression ratio of one entry (a ZIP bomb inflates far beyond).
LANTAI_ZIP_MAX_BYTES = int(os.environ.get("LANTAI_ZIP_MAX_BYTES", str(16 * 1024**3)))
LANTAI_ZIP_MAX_FILES = int(os.environ.get("LANTAI_ZIP_MAX_FILES", "200000"))
LANTAI_ZIP_MAX_RATIO = int(os.environ.get("LANTAI_ZIP_MAX_RATIO", "100"))

# 库房环境 (vault environment): raw readings are kept this many days, then only their 10-minute
# and hourly min/avg/max rollups; 10-minute rollups are kept LANTAI_VAULT_ROLLUP_DAYS days.
LANTAI_VAULT_RAW_DAYS = int(os.environ.get("LANTAI_VAULT_RAW_DAYS", "90"))
LANTAI_VAULT_ROLLUP_DAYS = int(os.environ.get("LANTAI_VAULT_ROLLUP_DAYS", "730"))
# A reading stamped further ahead than this (a device clock running fast) is refused.
LANTAI_VAULT_FUTURE_SECONDS = int(os.environ.get("LANTAI_VAULT_FUTURE_SECONDS", "120"))
# Working hours of vaults without their own (a door opened outside them raises an alarm).
LANTAI_VAULT_WORK_HOURS = os.environ.get("LANTAI_VAULT_WORK_HOURS", "08:00-18:00")
# The MQTT broker ``lantai vault consume`` reads readings from.
LANTAI_MQTT_URL = os.environ.get("LANTAI_MQTT_URL", "mqtt://127.0.0.1:1883")
LANTAI_MQTT_CLIENT_ID = os.environ.get("LANTAI_MQTT_CLIENT_ID", "lantai-vault-consumer")

EMAIL_BACKEND = os.environ.get(
    "LANTAI_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)

# LANTAI_LOG_FORMAT=json: one JSON object per line for log collectors. Every record carries the
# request id (also inside jobs a request started), see lantai.ops.logging.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "lantai.ops.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "lantai.ops.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if os.environ.get("LANTAI_LOG_FORMAT") == "json" else "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LANTAI_LOG_LEVEL", "INFO")},
    "loggers": {"huey": {"level": "WARNING"}, "django.db.backends": {"level": "WARNING"}},
}
