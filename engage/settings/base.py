"""Settings shared by every environment. Anything secret or per-deployment comes from the environment."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONCE

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("ENGAGE_VAR_DIR", BASE_DIR / "var"))


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = env(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


SECRET_KEY = env("SECRET_KEY", "insecure-development-key-not-for-production")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Proxies whose X-Forwarded-For is believed (addresses or networks, e.g. "10.0.0.0/8"): engage.core.clients. The
# default trusts a proxy on the same machine only, as uvicorn does; pass the same list to uvicorn as
# --forwarded-allow-ips (engage/Procfile does).
ENGAGE_TRUSTED_PROXIES = env_list("ENGAGE_TRUSTED_PROXIES", ["127.0.0.1", "::1"])

INSTALLED_APPS = [
    "engage.core",
    "engage.audit",
    "engage.inbox",
    "engage.messaging",
    "engage.reminders",
    "members",
    "cms",
    "events",
    "learning",
    # Wagtail
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.contrib.table_block",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    # auth
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.weixin",
    # infrastructure
    "channels",
    "django_celery_beat",
    # django
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "engage.core.csp.EngageCSPMiddleware",
    "engage.core.json_errors.ApiJsonErrorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "engage.audit.context.AuditContextMiddleware",
    "members.consents.middleware.PrivacyConsentMiddleware",
    "members.wechat.middleware.WeChatLoginMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    "cms.pages.middleware.PublicPageCacheMiddleware",  # last: everything above still runs for a cached copy
]

ROOT_URLCONF = "engage.urls"
CSRF_FAILURE_VIEW = "engage.core.views.csrf_failure"  # JSON under /api/
WSGI_APPLICATION = "engage.wsgi.application"
ASGI_APPLICATION = "engage.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wagtail.contrib.settings.context_processors.settings",
                "engage.core.context_processors.portal",
            ],
        },
    },
]

# Database: SQLite is the embedded default; DATABASE_URL switches to PostgreSQL.
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'engage.sqlite3'}"),
        conn_max_age=int(env("DB_CONN_MAX_AGE", "0")),
    )
}
# PostgreSQL connections come from a pool per process (psycopg_pool through Django): the ASGI server runs each
# request's sync code in a fresh thread, so persistent per-thread connections (CONN_MAX_AGE) would leak, and opening
# one per request costs more than most of our queries. DB_POOL_MAX_SIZE=0 turns it off (then DB_CONN_MAX_AGE applies).
DB_POOL_MAX_SIZE = int(env("DB_POOL_MAX_SIZE", "20"))
if (DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DB_POOL_MAX_SIZE > 0
        and not DATABASES["default"]["CONN_MAX_AGE"]):
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1, "max_size": DB_POOL_MAX_SIZE, "timeout": float(env("DB_POOL_TIMEOUT", "10")),
    }
# A resolved API token is remembered this long per process (engage.core.authentication); 0 turns it off.
ENGAGE_API_TOKEN_CACHE_SECONDS = float(env("ENGAGE_API_TOKEN_CACHE_SECONDS", "2"))
# Hot statements (engage.core.prepared.planned_cursor) are planned once per connection as prepared statements; the
# ORM's own cursors bind on the client and never prepare, so this changes nothing else. DB_PREPARE=0 turns it off
# (needed behind a pooler in transaction mode, which cannot keep prepared statements).
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env("DB_PREPARE", "1") != "0":
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share the file: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "members.User"
# Django's and allauth's backends, loading the signed-in person with their roles, access level, consent state,
# unread count and share code in one statement (engage/core/preload.py).
AUTHENTICATION_BACKENDS = [
    "engage.core.preload.PreloadingModelBackend",
    "engage.core.preload.PreloadingAuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "member_home"
LOGOUT_REDIRECT_URL = "/"

# Redis: one URL for cache, channel layer, Celery broker and results. Without it everything is embedded.
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    # A Redis outage turns cache reads into misses instead of 500s (engage.core.cache); rate limits fail closed.
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "engage",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1, "IGNORE_EXCEPTIONS": True},
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "engage"},
        }
    }
    CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
    CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", REDIS_URL)
else:
    # Shared by the web, worker and beat processes of `make run` through the file system.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    _broker_dir = VAR_DIR / "celery-broker"
    _broker_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = env("CELERY_BROKER_URL", "filesystem://")
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir),
        "control_folder": str(_broker_dir / "control"),  # kombu's default is ./control in the working directory
        "store_processed": False,
    }
    # Tasks report through the database; no result backend is needed for a first look.
    CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND")

# Celery: tasks are idempotent, so a task is acknowledged only after it ran and re-queued if its worker dies.
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A web request that sends a task must not wait for a broker that is down (kombu's default retries for ~6 s):
# one quick try, then engage.core.jobs keeps the task for deferred_tasks_resend. Workers reconnect on their own.
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2,
                                   **globals().get("CELERY_BROKER_TRANSPORT_OPTIONS", {})}
# Periodic tasks (beat writes them into django-celery-beat's tables at start); times are Asia/Shanghai.
CELERY_BEAT_SCHEDULE: dict = {}
CELERY_BEAT_SCHEDULE["core-deferred-tasks"] = {  # tasks a broker outage kept back (engage.core.jobs); every minute
    "task": "engage.core.tasks.deferred_tasks_resend_task", "schedule": 60.0, "options": {"expires": 55},
}
CELERY_BEAT_SCHEDULE["cms-content-expiry"] = {  # unpublish expired content, warn owners at 30/7 days; 00:30
    "task": "cms.review.tasks.content_expiry_task", "schedule": crontab(hour=0, minute=30),
}
CELERY_BEAT_SCHEDULE["members-points-expire"] = {  # expire due academic points daily at 01:00
    "task": "members.points.tasks.points_expire", "schedule": crontab(hour=1, minute=0),
}
CELERY_BEAT_SCHEDULE["members-segments-recompute"] = {  # regrade doctors' segments nightly at 02:30
    "task": "members.segments.tasks.segments_recompute_task", "schedule": crontab(hour=2, minute=30),
}
CELERY_BEAT_SCHEDULE["events-attendance-credit"] = {  # check-ins whose meeting sweep was never sent; every 10 min
    "task": "events.registrations.tasks.attendance_credit_sweep_all_task", "schedule": 600.0,
    "options": {"expires": 540},
}
CELERY_BEAT_SCHEDULE["messaging-sweep"] = {  # outbox: re-dispatch lost tasks, settle stuck sends; every minute
    "task": "engage.messaging.tasks.messages_sweep", "schedule": 60.0, "options": {"expires": 55},
}
CELERY_BEAT_SCHEDULE["reminders-tick"] = {  # dose events: materialise, send due reminders, follow up; every minute
    "task": "engage.reminders.tasks.reminders_tick_task", "schedule": 60.0, "options": {"expires": 55},
}
CELERY_BEAT_SCHEDULE["events-registration-reminders"] = {  # meeting reminders, day and hour before; every 5 min
    "task": "events.registrations.tasks.registration_reminders_task", "schedule": 300.0, "options": {"expires": 290},
}
CELERY_BEAT_SCHEDULE["learning-assignments-sync"] = {  # rounds for reps who joined, due reminders; hourly at :15
    "task": "learning.assignments.tasks.assignments_sync_task", "schedule": crontab(minute=15),
}
CELERY_BEAT_SCHEDULE["learning-certificate-renewals"] = {  # 30-day renewal reminders, recertification; 07:00
    "task": "learning.certificates.tasks.certificate_renewals_task", "schedule": crontab(hour=7, minute=0),
}
CELERY_BEAT_SCHEDULE["learning-competency-snapshots"] = {  # the capability profile's daily history; 03:10
    "task": "learning.competencies.tasks.competency_snapshots_task", "schedule": crontab(hour=3, minute=10),
}
CELERY_BEAT_SCHEDULE["learning-exams-overdue"] = {  # submit exam attempts past deadline + grace; every minute
    "task": "learning.exams.tasks.attempts_submit_overdue_task", "schedule": 60.0, "options": {"expires": 55},
}
CELERY_BEAT_SCHEDULE["learning-courses-expiry"] = {  # unpublish product courses whose approval expired; 00:40
    "task": "learning.courses.tasks.courses_expiry_task", "schedule": crontab(hour=0, minute=40),
}

SESSION_ENGINE = "engage.core.sessions"  # Django's database sessions, the read compiled once

# Internationalisation: Chinese first, English second; stored in UTC, shown in Shanghai time.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
WAGTAIL_I18N_ENABLED = False
WAGTAILADMIN_PERMITTED_LANGUAGES = LANGUAGES

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
PRIVATE_ROOT = Path(env("PRIVATE_ROOT", str(VAR_DIR / "private")))
STORAGES = {
    # Wagtail documents (PDFs, videos) land in PRIVATE_ROOT and are served only by the checked view.
    "default": {"BACKEND": "cms.pages.storage.MediaStorage"},
    "private": {"BACKEND": "engage.core.storage.PrivateFileSystemStorage", "OPTIONS": {"location": PRIVATE_ROOT}},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# A request's body must arrive within this many seconds of its start (engage.core.asgi): 408 otherwise.
ENGAGE_REQUEST_BODY_TIMEOUT = float(env("ENGAGE_REQUEST_BODY_TIMEOUT", "30"))
# Content-Security-Policy (django-csp; engage.core.csp gives the Wagtail admin its own script-src). Scripts: ours
# (static/, vendored WeUI, jsQR and WeChat's JS-SDK: no third-party script origin, whether WeChat is configured or
# not — the SDK talks to WeChat through the in-app bridge, not the network), inline ones only with the request's
# nonce. Images and media:
# data:/blob: for the QR codes, the camera scanner and HLS (media source buffers); the live-session stream origins
# (HLS playlists and segments, fetched by the player) come from ENGAGE_LIVE_STREAM_ORIGINS. Styles allow inline
# style attributes (the templates use them; they cannot carry a nonce).
ENGAGE_LIVE_STREAM_ORIGINS = env_list("ENGAGE_LIVE_STREAM_ORIGINS", [])
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "media-src": ["'self'", "blob:", *ENGAGE_LIVE_STREAM_ORIGINS],
        "connect-src": ["'self'", *ENGAGE_LIVE_STREAM_ORIGINS],
        "worker-src": ["'self'", "blob:"],
        "frame-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'", "https://open.weixin.qq.com"],  # WeChat log-in redirects to its authorize page
        "frame-ancestors": ["'self'"],  # Wagtail's preview frames our own pages
    },
}

# Bodies above this size are refused before they reach a view.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Wagtail
WAGTAIL_SITE_NAME = "Engage"
WAGTAILADMIN_BASE_URL = env("WAGTAILADMIN_BASE_URL", "http://127.0.0.1:8000")
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_SERVE_METHOD = "serve_view"
WAGTAIL_ENABLE_UPDATE_CHECK = False
WAGTAILADMIN_USER_LOGIN_FORM = "members.accounts.forms.AdminLoginForm"  # email or mobile number, as on the site
WAGTAIL_GRAVATAR_PROVIDER_URL = None  # no third-party avatars in the admin (CSP img-src; unreachable in China)
# Medical-legal review: an edit during review restarts it, so every approval is of the exact revision published.
WAGTAIL_WORKFLOW_REQUIRE_REAPPROVAL_ON_EDIT = True
WAGTAIL_FINISH_WORKFLOW_ACTION = "cms.review.workflow.publish_approved_revision"

# django-allauth: mobile number or email, each with a one-time code; a password is optional.
ACCOUNT_ADAPTER = "members.accounts.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"phone", "email"}
# Either a mobile number (verified by an SMS code at sign-up) or an email (verified by a link), or both;
# a password is optional. Logging in without a password sends a one-time code.
ACCOUNT_SIGNUP_FIELDS = ["phone", "email", "password1"]
ACCOUNT_FORMS = {"signup": "members.accounts.forms.SignupForm", "login": "members.accounts.forms.LoginForm"}
# A first WeChat log-in shows a sign-up form (privacy consent, mobile number or email) before the account exists.
SOCIALACCOUNT_ADAPTER = "members.accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_FORMS = {"signup": "members.accounts.forms.SocialSignupForm"}
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 5 * 60
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 3
ACCOUNT_PHONE_VERIFICATION_ENABLED = True
ACCOUNT_PHONE_VERIFICATION_TIMEOUT = 10 * 60
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_GET = False
# Log-in and sign-up answer a known and an unknown number/email alike (the doctor list must not be harvestable);
# a code is sent only to an account's owner: nothing goes to an unknown number or email.
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
ACCOUNT_SESSION_REMEMBER = True
# allauth's own defaults plus explicit limits on code requests and failed log-ins. Code requests: few per IP
# (harvesting numbers, SMS bombing) and per number; past a limit the page answers 429.
ACCOUNT_RATE_LIMITS = {
    "request_login_code": "5/10m/ip,3/10m/key",
    "login_failed": "10/m/ip,5/300s/key",
    "verify_phone": "1/30s/key,3/m/ip",
    "signup": "20/m/ip",
}
ACCOUNT_USER_DISPLAY = str
# WeChat log-in (allauth's weixin provider) appears only when an app id is configured.
SOCIALACCOUNT_PROVIDERS = {
    "weixin": {
        # The browser tests point it at the fake WeChat's authorize page.
        "AUTHORIZE_URL": env("ENGAGE_WECHAT_AUTHORIZE_URL", "https://open.weixin.qq.com/connect/oauth2/authorize"),
        "SCOPE": ["snsapi_userinfo"],
        # allauth's provider subclassed for the Official Account (#wechat_redirect, silent snsapi_base log-in,
        # unionid as uid, readable nicknames): members/wechat/provider.py
        "provider_class": "members.wechat.provider.OfficialAccountProvider",
    }
}
# Its app (AppID and AppSecret) is WECHAT_APP_ID/WECHAT_APP_SECRET: SocialAccountAdapter.list_apps.

# Outside providers. Empty values mean the console/outbox backends are used.
WECHAT_APP_ID = env("WECHAT_APP_ID", "")
WECHAT_APP_SECRET = env("WECHAT_APP_SECRET", "")
WECHAT_TOKEN = env("WECHAT_TOKEN", "")
WECHAT_ENCODING_AES_KEY = env("WECHAT_ENCODING_AES_KEY", "")
# WeChat's API base (https://api.weixin.qq.com/cgi-bin/ when empty); the browser tests point it at the fake WeChat.
ENGAGE_WECHAT_API_BASE_URL = env("ENGAGE_WECHAT_API_BASE_URL", "")
# The one-time subscription message template (一次性订阅消息) from the Official Account console; empty: not offered.
ENGAGE_WECHAT_ONCE_TEMPLATE_ID = env("ENGAGE_WECHAT_ONCE_TEMPLATE_ID", "")
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", "")
TWILIO_MESSAGING_SERVICE_SID = env("TWILIO_MESSAGING_SERVICE_SID", "")
FIELD_ENCRYPTION_KEY = env("FIELD_ENCRYPTION_KEY", "")
ENGAGE_SMS_BACKEND = env("ENGAGE_SMS_BACKEND", "engage.messaging.backends.OutboxSmsBackend")
ENGAGE_PUBLIC_URL = env("ENGAGE_PUBLIC_URL", "")  # absolute URL Twilio/WeChat call back (status callbacks)
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Engage <no-reply@engage.local>")

NINJA_PAGINATION_PER_PAGE = 20

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"once_per_outage": {"()": "engage.core.cache.OncePerOutage"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # twilio's clients log 12 INFO lines per request (URL with the account, every header, the response's
        # headers): 1.2 million lines for a morning's 100,000 reminders, and 8 % of a send's CPU. The outbox row is
        # the record of each send; the clients' warnings and errors still show.
        "twilio.http_client": {"level": "WARNING"},
        "twilio.async_http_client": {"level": "WARNING"},
        "engage.cache": {"filters": ["once_per_outage"]},
    },
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
DJANGO_REDIS_LOGGER = "engage.cache"

# account.W001: allauth warns that optional phone/email sign-up fields differ from the login methods;
# members.accounts.forms.SignupForm requires at least one of them, which is what we want.
SILENCED_SYSTEM_CHECKS = ["account.W001"]

# Reading credit (cms.reading.services): a read is complete after this share of the body and this many active
# seconds, per content type ("default" for the rest). READING_MIN_SECONDS overrides every type (browser tests).
READING_COMPLETION = {
    "default": {"share": 0.8, "seconds": 60},
    "video": {"share": 0.8, "seconds": 120},
}
READING_BEACON_SECONDS = int(os.environ.get("READING_BEACON_SECONDS", "15"))  # how often an open page reports
if os.environ.get("READING_MIN_SECONDS"):
    READING_COMPLETION = {"default": {"share": 0.8, "seconds": int(os.environ["READING_MIN_SECONDS"])}}

# Pharmacovigilance (engage.reminders): a case must have its first medical review within this long of receiving the
# patient's message (the regulatory clock starts at receipt); the case carries the resulting `review_due_at`.
REMINDERS_PV_REVIEW_WINDOW = timedelta(hours=int(env("REMINDERS_PV_REVIEW_HOURS", "24")))

# Live sessions (events.live): video never passes through Django. Play and push URLs are signed with the provider's
# keys; stream callbacks are verified with the callback key. The plain provider (development) needs no key.
ENGAGE_LIVE_PLAY_TTL = int(env("ENGAGE_LIVE_PLAY_TTL", "1800"))  # seconds a viewer's signed play URL lives
ENGAGE_LIVE_PUSH_HOURS_AFTER_END = int(env("ENGAGE_LIVE_PUSH_HOURS_AFTER_END", "24"))
ENGAGE_LIVE_TENCENT_PLAY_DOMAIN = env("ENGAGE_LIVE_TENCENT_PLAY_DOMAIN", "")
ENGAGE_LIVE_TENCENT_PLAY_KEY = env("ENGAGE_LIVE_TENCENT_PLAY_KEY", "")
ENGAGE_LIVE_TENCENT_PUSH_DOMAIN = env("ENGAGE_LIVE_TENCENT_PUSH_DOMAIN", "")
ENGAGE_LIVE_TENCENT_PUSH_KEY = env("ENGAGE_LIVE_TENCENT_PUSH_KEY", "")
ENGAGE_LIVE_TENCENT_CALLBACK_KEY = env("ENGAGE_LIVE_TENCENT_CALLBACK_KEY", "")
ENGAGE_LIVE_TENCENT_VOD_KEY = env("ENGAGE_LIVE_TENCENT_VOD_KEY", "")  # VOD Key hotlink protection (replays)
ENGAGE_LIVE_ALIYUN_PLAY_DOMAIN = env("ENGAGE_LIVE_ALIYUN_PLAY_DOMAIN", "")
ENGAGE_LIVE_ALIYUN_PLAY_KEY = env("ENGAGE_LIVE_ALIYUN_PLAY_KEY", "")
ENGAGE_LIVE_ALIYUN_PUSH_DOMAIN = env("ENGAGE_LIVE_ALIYUN_PUSH_DOMAIN", "")
ENGAGE_LIVE_ALIYUN_PUSH_KEY = env("ENGAGE_LIVE_ALIYUN_PUSH_KEY", "")
ENGAGE_LIVE_ALIYUN_CALLBACK_KEY = env("ENGAGE_LIVE_ALIYUN_CALLBACK_KEY", "")
ENGAGE_LIVE_CHAT_MAX_LENGTH = 500
ENGAGE_LIVE_CHAT_INTERVAL = 2  # seconds between two chat messages of one person
ENGAGE_LIVE_CALLBACK_MAX_BYTES = 64 * 1024
