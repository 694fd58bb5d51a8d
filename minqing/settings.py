"""minqing settings. Every deployment value comes from the environment (see minqing/env.py);
the defaults are for the local demo only and production refuses to start without real values."""

import base64
import binascii
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from minqing.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", True)

# Demo-only defaults: usable when DEBUG is on, refused otherwise.
_DEMO_SECRET_KEY = "demo-only-insecure-secret-key-do-not-use-in-production"
_DEMO_PII_KEY = "bWlucWluZy1kZW1vLW9ubHktcGlpLWtleS0wMDAwMDA="  # base64 of 32 ASCII bytes
_DEMO_PII_HASH_KEY = "minqing-demo-only-pii-hash-key"

SECRET_KEY = env_str("DJANGO_SECRET_KEY", _DEMO_SECRET_KEY if DEBUG else None)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not DEBUG and (SECRET_KEY == _DEMO_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be a random value of at least 50 characters")
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS is required when DJANGO_DEBUG is false")

# Personal information keys (PIPL): the first Fernet key encrypts, all of them decrypt, so keys can be
# rotated without losing a record; the hash key makes exact search possible on encrypted values.
PII_KEYS = env_list("MINQING_PII_KEYS", [_DEMO_PII_KEY] if DEBUG else [])
PII_HASH_KEY = env_str("MINQING_PII_HASH_KEY", _DEMO_PII_HASH_KEY if DEBUG else None)
if not PII_KEYS:
    raise ImproperlyConfigured("MINQING_PII_KEYS is required when DJANGO_DEBUG is false")
for _key in PII_KEYS:
    try:
        if len(base64.urlsafe_b64decode(_key)) != 32:
            raise ValueError
    except (ValueError, binascii.Error):
        raise ImproperlyConfigured("MINQING_PII_KEYS: each key must be 32 url-safe base64-encoded bytes") from None
if not DEBUG and (_DEMO_PII_KEY in PII_KEYS or PII_HASH_KEY == _DEMO_PII_HASH_KEY):
    raise ImproperlyConfigured("the demo PII keys may not be used when DJANGO_DEBUG is false")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",  # serves the Swagger UI of /api/v1/docs from its static files (no CDN)
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks_db",
    "simple_history",
    "minqing.core",
    "minqing.areas",
    "minqing.accounts",
    "minqing.registry",
    "minqing.workdays",
    "minqing.tickets",
    "minqing.inbox",
    "minqing.visits",
    "minqing.api",
    "minqing.open311",
    "minqing.dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "minqing.accounts.middleware.SessionPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "minqing.core.middleware.ApplicationErrorMiddleware",
]

ROOT_URLCONF = "minqing.urls"
WSGI_APPLICATION = "minqing.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "minqing" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "minqing.accounts.context_processors.navigation",
            ],
        },
    },
]

# Database: SQLite file by default (the demo), PostgreSQL in production, chosen by DATABASE_URL.
VAR_DIR = Path(env_str("MINQING_VAR_DIR", str(BASE_DIR / "var")))
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'minqing.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Several processes (web workers, the task worker) write to one file: WAL lets readers go on
    # while one writes, IMMEDIATE takes the write lock at BEGIN so two writers queue on the busy
    # timeout instead of failing with "database is locked" when a read lock is upgraded.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT compilation: the platform's queries are short, and on the largest (the district's due
    # list, the KPI table) PostgreSQL spent seconds compiling what then ran in milliseconds
    # (bench/RESULTS.md).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
if env_str("MINQING_TEST_DB_NAME", ""):
    # Two test runs on one PostgreSQL server (two checkouts, CI beside a developer) each need their
    # own test database; the default test_<name> would be dropped under the other run.
    DATABASES["default"]["TEST"] = {"NAME": env_str("MINQING_TEST_DB_NAME", "")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Covering indexes (INCLUDE) are PostgreSQL's; SQLite builds the same indexes on their key alone, which
# is all its small databases need (tickets.models: the figures' indexes).
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# A ledger with more rows than this is previewed and imported by the background worker.
MINQING_IMPORT_INLINE_ROWS = env_int("MINQING_IMPORT_INLINE_ROWS", 2000)
# Days an unconfirmed ledger upload and a workbook of refused rows stay on disk (they hold ID numbers).
MINQING_IMPORT_KEEP_DAYS = env_int("MINQING_IMPORT_KEEP_DAYS", 7)
# Open311 GeoReport v2: the one jurisdiction_id this server answers for (others are refused).
MINQING_OPEN311_JURISDICTION = env_str("MINQING_OPEN311_JURISDICTION", "minan.example.cn")

_redis_url = env_str("REDIS_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _redis_url}
        if _redis_url
        # Without Redis, a table in the database (core migration 0003): the portal's rate limits must
        # be counted once for all web workers, not per process.
        else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "minqing_cache"}
    )
}

# Background work: Django's task framework with the database-backed worker (`manage.py db_worker`).
TASKS = {
    "default": {
        "BACKEND": env_str("MINQING_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "media")},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
    },
}
# In the demo (DEBUG) WhiteNoise serves straight from the app and npm folders, no collectstatic needed.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [
    BASE_DIR / "minqing" / "static",
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
]
MEDIA_URL = "/media/"

# Accounts and sign-in (等保 level 3 practice, OWASP ASVS level 2).
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["minqing.accounts.backends.RoleBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "minqing.accounts.validators.CharacterClassesValidator", "OPTIONS": {"min_classes": 3}},
]
LOGIN_FAILURE_LIMIT = 5
LOGIN_FAILURE_WINDOW = timedelta(minutes=30)
LOGIN_LOCK_DURATION = timedelta(minutes=15)
SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=12)
API_TOKEN_LIFETIME = SESSION_ABSOLUTE_TIMEOUT
AUDIT_RETENTION_DAYS = 180

SESSION_ENGINE = "django.contrib.sessions.backends.db"
# The idle limit is the session's server-side expiry, pushed forward by every request.
SESSION_COOKIE_AGE = int(SESSION_IDLE_TIMEOUT.total_seconds())
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
OTP_TOTP_ISSUER = "民情"

# Internationalisation: the UI is Chinese.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文"))]
LOCALE_PATHS = [BASE_DIR / "minqing" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# Production hardening; `manage.py check --deploy` is clean when DJANGO_DEBUG is false.
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env_bool("DJANGO_BEHIND_TLS_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "WARNING")},
}

NINJA_PAGINATION_PER_PAGE = 50
