"""Production: everything secret from the environment; refuses to start with a development key."""

from django.core.exceptions import ImproperlyConfigured

from engage.settings.base import *
from engage.settings.base import SECRET_KEY, env, env_bool, env_list

DEBUG = False
if not SECRET_KEY or SECRET_KEY.startswith("insecure") or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured("Set SECRET_KEY to a random value of at least 50 characters.")
if not env("REDIS_URL"):
    raise ImproperlyConfigured("Production needs REDIS_URL (cache, channel layer, Celery broker).")
if not env("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
    raise ImproperlyConfigured("Production needs DATABASE_URL pointing at PostgreSQL.")
if not env("FIELD_ENCRYPTION_KEY"):
    raise ImproperlyConfigured("Production needs FIELD_ENCRYPTION_KEY (Fernet keys for personal information).")
# WeChat callbacks in safe mode only: plain mode's signature covers neither the body nor, once seen, its reuse.
if (env("WECHAT_TOKEN") or env("WECHAT_APP_ID")) and len(env("WECHAT_ENCODING_AES_KEY", "")) != 43:
    raise ImproperlyConfigured("WeChat callbacks run in safe mode in production: set WECHAT_ENCODING_AES_KEY "
                               "(the 43-character EncodingAESKey) and choose 安全模式 in the Official Account.")
ENGAGE_WECHAT_REQUIRE_SAFE_MODE = True

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
ENGAGE_SMS_BACKEND = env("ENGAGE_SMS_BACKEND", "engage.messaging.backends.TwilioSmsBackend")
