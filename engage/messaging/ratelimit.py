"""A token bucket per provider in Redis, shared by every worker process (one Lua script, atomic on the server).

`acquire(provider)` returns 0.0 when a token was taken, else the seconds to wait before one is available.
`acquire_up_to(provider, n)` takes as many of `n` tokens as the bucket holds, in one round trip: a group of messages
sent at once asks once, not once per message (100,000 reminders in groups of 8: 12,500 round trips, not 100,000).
`charge(provider, n)` takes `n` whatever the bucket holds, into debt down to minus the burst: a one-time code never
waits for a token (someone is at the form), and the messages that can wait wait out what it took.
Without REDIS_URL (the embedded default) nothing is limited.
"""

from functools import cache

from django.conf import settings

from engage.messaging import conf

# KEYS[1] bucket; ARGV rate (tokens/s), burst, requested, mode (0: all or none, 1: take what there is, 2: charge:
# take all, into debt down to -burst). Returns {granted, wait}: `wait` the seconds until the next token when fewer
# than requested were granted. Uses the server clock so all workers agree.
LUA_BUCKET_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local requested = tonumber(ARGV[3])
local partial = ARGV[4] == '1'
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local granted = 0
local wait = 0
if tokens >= requested or ARGV[4] == '2' then
  granted = requested
elseif partial then
  granted = math.max(0, math.floor(tokens))
end
tokens = math.max(-burst, tokens - granted)
if granted < requested then
  wait = ((partial and 1 or requested) - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return {granted, tostring(wait)}
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


ALL_OR_NONE, UP_TO, CHARGE = 0, 1, 2


def _take(provider: str, tokens: int, mode: int) -> tuple[int, float]:
    limit = conf.get("ENGAGE_MESSAGING_RATE_LIMITS").get(provider)
    url = getattr(settings, "REDIS_URL", "") or ""
    if not limit or not url:
        return tokens, 0.0
    rate, burst = limit
    granted, wait = _script(url)(keys=[bucket_key(provider)], args=[rate, burst, tokens, mode])
    return int(granted), float(wait)


def acquire(provider: str, tokens: int = 1) -> float:
    """Takes `tokens` at once or none: 0.0 when taken, else the seconds until there are that many."""
    return _take(provider, tokens, ALL_OR_NONE)[1]


def acquire_up_to(provider: str, tokens: int) -> tuple[int, float]:
    """Takes as many of `tokens` as the bucket holds: (taken, seconds until the next token when fewer were taken,
    else 0.0)."""
    return _take(provider, tokens, UP_TO)


def charge(provider: str, tokens: int) -> None:
    """Takes `tokens` for messages that did not wait for them, into debt down to minus the burst."""
    _take(provider, tokens, CHARGE)


def reset(provider: str) -> None:
    client = redis_client()
    if client is not None:
        client.delete(bucket_key(provider))
