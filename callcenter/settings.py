"""Settings of callcenter: every knob comes from the environment (see docs/operations.md)."""

from __future__ import annotations

from pathlib import Path

import dj_database_url

from callcenter.env import env_bool, env_int, env_list, env_str, secret_from_env_or_file

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CALLCENTER_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = secret_from_env_or_file("CALLCENTER_SECRET_KEY", VAR_DIR / "secret_key")
DEBUG = env_bool("CALLCENTER_DEBUG", False)
ALLOWED_HOSTS = env_list("CALLCENTER_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CALLCENTER_CSRF_TRUSTED_ORIGINS", [])
PORT = env_int("PORT", 8000)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "django_filters",
    "django_tables2",
    "django_htmx",
    "huey.contrib.djhuey",
    "axes",
    "callcenter.core",
    "callcenter.accounts",
    "callcenter.telephony",
    "callcenter.pbx",
    "callcenter.calls",
    "callcenter.campaigns",
    "callcenter.crm",
    "callcenter.notices",
    "callcenter.workspace",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "callcenter.core.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "callcenter.core.middleware.RequestContextMiddleware",
    "callcenter.accounts.middleware.ForcePasswordChangeMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "callcenter.urls"
WSGI_APPLICATION = "callcenter.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "callcenter" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "callcenter.core.context_processors.navigation",
                "callcenter.pbx.context_processors.pending_changes",
            ],
        },
    },
]

# --- database --------------------------------------------------------------
# SQLite in WAL mode by default; PostgreSQL (or any dj-database-url URL) when set.
SQLITE_PATH = VAR_DIR / "callcenter.sqlite3"
_database_url = env_str("DATABASE_URL")
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            "OPTIONS": {
                # Several processes (web, worker, call control) share the file.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;PRAGMA cache_size=-20000;"
                ),
            },
            "TEST": {"NAME": str(VAR_DIR / "test.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- background jobs (Huey) ------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "callcenter",
        "url": REDIS_URL,
        "immediate": env_bool("HUEY_IMMEDIATE", False),
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "callcenter",
        "filename": str(VAR_DIR / "huey.sqlite3"),
        "immediate": env_bool("HUEY_IMMEDIATE", False),
    }

# --- auth --------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.Agent"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "callcenter.accounts.backends.AgentBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "callcenter.accounts.hashers.TemporaryArgon2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 6}},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"
SESSION_COOKIE_AGE = 12 * 3600

# django-axes: throttle by the derived login name ("<enterprise code>:<number>").
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 0.25  # hours
# Not by IP: a call center's agents share one office address behind NAT, and locking the
# address would lock the whole floor out after one agent's typos.
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_USERNAME_CALLABLE = "callcenter.accounts.backends.axes_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "callcenter.accounts.views.lockout_response"
AXES_VERBOSE = False

# --- i18n ----------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- static and media ------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "callcenter" / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- REST API ---------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "callcenter.accounts.api_auth.AgentTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["callcenter.core.drf.ScreenPermission"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "callcenter.core.drf.KeysetApiPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "callcenter.core.drf.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "callcenter API",
    "DESCRIPTION": "REST API of the callcenter back office. Every resource is confined to the caller's enterprise.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {"ConfigApplyStatusEnum": "callcenter.pbx.choices.ApplyStatus"},
}

# --- application limits -------------------------------------------------------------
CALLCENTER = {
    "MAX_AGENT_RANGE": 1000,
    "IMPORT_MAX_BYTES": env_int("CALLCENTER_IMPORT_MAX_BYTES", 20 * 1024 * 1024),
    "IMPORT_MAX_ROWS": 1_000_000,
    # Imports with more rows than this run in the worker with a progress bar.
    "IMPORT_INLINE_ROWS": env_int("CALLCENTER_IMPORT_INLINE_ROWS", 2000),
    # Exports up to this many rows stream; larger ones run in the worker.
    "EXPORT_STREAM_ROWS": env_int("CALLCENTER_EXPORT_STREAM_ROWS", 50_000),
    "EXPORT_SHEET_ROWS": 1_000_000,
    "SSO_LINK_SECONDS": 60,
    "PAGE_SIZE": 50,
}

# --- the PBX (Asterisk, or the simulated one) ----------------------------------------
# Generated pjsip/queues/extensions files go under CONFIG_DIR (see docs/asterisk.md);
# AMI reloads them, ARI carries call control.
PBX = {
    "CONFIG_DIR": Path(env_str("CALLCENTER_PBX_CONFIG_DIR", str(VAR_DIR / "asterisk"))),
    # Where Asterisk sees MEDIA_ROOT (prompts are played from there); same path by default.
    "SOUNDS_DIR": env_str("CALLCENTER_PBX_SOUNDS_DIR", str(MEDIA_ROOT)),
    "AMI_HOST": env_str("CALLCENTER_PBX_AMI_HOST", "127.0.0.1"),
    "AMI_PORT": env_int("CALLCENTER_PBX_AMI_PORT", 5038),
    "AMI_USER": env_str("CALLCENTER_PBX_AMI_USER", "callcenter"),
    "AMI_SECRET": env_str("CALLCENTER_PBX_AMI_SECRET", "callcenter"),
    "AMI_TIMEOUT": env_int("CALLCENTER_PBX_AMI_TIMEOUT", 10),
    "ARI_URL": env_str("CALLCENTER_PBX_ARI_URL", "http://127.0.0.1:8088"),
    "ARI_USER": env_str("CALLCENTER_PBX_ARI_USER", "callcenter"),
    "ARI_PASSWORD": env_str("CALLCENTER_PBX_ARI_PASSWORD", "callcenter"),
    "APP": env_str("CALLCENTER_PBX_APP", "callcenter"),
    # Releases of the generated configuration kept on disk (the active one always is).
    "KEEP_RELEASES": env_int("CALLCENTER_PBX_KEEP_RELEASES", 10),
    # Calls call control handles at once; past it new inbound calls are refused (congestion)
    # and the dialer waits (callctl/service.py, admission control).
    "MAX_CALLS": env_int("CALLCENTER_PBX_MAX_CALLS", 3000),
}

# --- the campaign dialer (inside the callctl process; campaigns/dialer) ------------------------
DIALER = {
    # A dialer renews its per-enterprise lease every few seconds; another takes over only after
    # it has expired (after a crash), or at once when the holder stopped cleanly.
    "LEASE_SECONDS": float(env_str("CALLCENTER_DIALER_LEASE_SECONDS", "15")),
    "TICK_SECONDS": float(env_str("CALLCENTER_DIALER_TICK_SECONDS", "1")),
}
# Where the dialer's SMS go (campaigns/sms.py): "logging" records them until SMS sending lands.
SMS_GATEWAY = env_str("CALLCENTER_SMS_GATEWAY", "logging")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}
