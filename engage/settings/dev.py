"""Local development: `make run`. Embedded services unless DATABASE_URL / REDIS_URL are set."""

from engage.settings.base import *
from engage.settings.base import env_bool

DEBUG = env_bool("DEBUG", True)
# ALLOWED_HOSTS comes from the environment as everywhere (base: 127.0.0.1,localhost): a wildcard here would serve any
# Host and let a WebSocket from any Origin through channels' AllowedHostsOriginValidator.
# WeChat callbacks may run in plain mode here (production insists on safe mode: engage.settings.production).
