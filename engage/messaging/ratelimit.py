"""A token bucket per provider in Redis, shared by every worker process (one Lua script, atomic on the server).

`acquire(provider)` returns 0.0 when a token was taken, else the seconds to wait before one is available.
Without REDIS_URL (the embedded default) nothing is limited.
"""

from functools import cache

from django.conf import settings

from engage.messaging import conf

# KEYS[1] bucket; ARGV rate (tokens/s), burst, requested. Uses the server clock so all workers agree.
LUA_BUCKET_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local requested = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= requested then
  tokens = tokens - requested
else
  wait = (requested - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return tostring(wait)
"""


@cache
def _redis(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def redis_client():
    """The process's Redis connection pool, or None on the embedded default."""
    url = getattr(settings, "REDIS_URL", "") or ""
    return _redis(url) if url else None


@cache
def _script(url: str):
    return _redis(url).register_script(LUA_BUCKET_SCRIPT)


def bucket_key(provider: str) -> str:
    return f"engage:ratelimit:{provider}"


def acquire(provider: str, tokens: int = 1) -> float:
    limit = conf.get("ENGAGE_MESSAGING_RATE_LIMITS").get(provider)
    url = getattr(settings, "REDIS_URL", "") or ""
    if not limit or not url:
        return 0.0
    rate, burst = limit
    wait = float(_script(url)(keys=[bucket_key(provider)], args=[rate, burst, tokens]))
    return wait


def reset(provider: str) -> None:
    client = redis_client()
    if client is not None:
        client.delete(bucket_key(provider))
