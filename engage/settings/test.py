"""Tests run on PostgreSQL and Redis, never on SQLite."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/engage")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/1")
# The race tests open connections from many threads at once; each keeps its own connection rather than waiting on
# a pool (tests/engage/core/test_database_pool.py covers the pool that production uses).
os.environ.setdefault("DB_POOL_MAX_SIZE", "0")

from engage.settings.base import *
from engage.settings.base import DATABASES

if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise RuntimeError("The test suite runs on PostgreSQL: set DATABASE_URL=postgres://...")

DEBUG = False
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "cms.pages.storage.MediaStorage"},
    "private": {"BACKEND": "engage.core.storage.PrivateFileSystemStorage", "OPTIONS": {"location": PRIVATE_ROOT}},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True  # the browser tests serve static files without collectstatic
