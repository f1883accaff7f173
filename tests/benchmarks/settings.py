"""Benchmark settings: the base settings as production runs them, served by uvicorn like `engage/Procfile`.

Embedded default (SQLite, file cache) unless DATABASE_URL / REDIS_URL are set, exactly as in base.py. The
middleware is base.py's, which production uses unchanged; production's response hardening is repeated here,
except what needs TLS in front (HTTPS redirect, HSTS, secure cookies).
"""

from engage.settings.base import *  # noqa: F403

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "tests.benchmarks.urls"

SECURE_SSL_REDIRECT = False
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
