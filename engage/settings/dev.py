"""Local development: `make run`. Embedded services unless DATABASE_URL / REDIS_URL are set."""

from engage.settings.base import *
from engage.settings.base import env_bool

DEBUG = env_bool("DEBUG", True)
ALLOWED_HOSTS = ["*"]
