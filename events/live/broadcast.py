"""The room's outbound side: ordered events with ids, and coalesced tallies.

Two kinds of traffic leave a live session's room:

* **Events** (`publish_event`): a chat message, an approved question, a poll opening, a state change. Each gets an
  increasing per-session id (Redis `INCR`), is serialised to JSON text ONCE here, and is sent with one
  `group_send` (one Redis PUBLISH on the pub/sub layer) to the moderator group and, unless it is moderation traffic,
  one to the audience group. Every process that has sockets of the room receives it once and writes the same text
  frame to its sockets (events.live.consumers.RoomHub). A page applies events in id order: an id it has already
  seen is ignored, a gap (or an event without an id, sent while Redis was unreachable) makes it load the HTTP
  snapshot again, whose `last_event_id` (see `last_event_id`) says where to continue.

* **Tallies** (`coalesce`): reactions, viewer count, vote tallies, question scores. A click never becomes a message:
  `coalesce` adds to (or sets) a field of a per-session pending hash, and a flusher sends the whole hash as ONE
  `tally` message per room and group at most about once a second. Tallies carry no event id: a value is absolute
  (a count, a score) or an ephemeral burst (reactions), so a lost one is corrected by the next or by the snapshot.

Where the flusher runs: in the WebSocket (ASGI) processes, as one asyncio task per process (`Flusher`) ticking the
rooms that process has sockets for; the pending data lives in Redis hashes. Why not a per-process in-memory
accumulator? Clicks arrive in every web process (sockets on worker A, HTTP votes on worker B, Celery), so only a
shared store sees the room's whole tally; and why not a separate ticker service? Nobody needs a tally for a room
with no socket open, and every process that has one is already running an event loop. Several processes hold
sockets of the same big room: a per-room lock (`SET NX PX`) lets exactly one of them take (atomically read and
delete) the pending hash per interval, so the room still gets at most about one tally a second. Without Redis
(the embedded `make run` default, one process) the pending data is a process-local dict.

Outages degrade, never break: a Redis or channel-layer failure costs a log line and, for the pages, a re-snapshot;
never the write that caused the event.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import threading
import time
from collections import defaultdict

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

FLUSH_INTERVAL = 1.0  # seconds between two tallies of one room
PRESENCE_TTL = 90  # seconds a socket counts as present without a refresh
EVENT_ID_TTL = 7 * 24 * 3600  # the id counter of a finished session expires a week after its last event
REDIS_RETRY_AFTER = 5.0  # after a Redis failure, stay on the fallback this long before trying again

FRAME_TYPE = "live.frame"  # the channel-layer message type the consumers' hub handles


def audience_group(session_id: int) -> str:
    return f"live.{int(session_id)}.audience"


def moderator_group(session_id: int) -> str:
    return f"live.{int(session_id)}.moderators"


def _key(session_id: int, name: str) -> str:
    return f"engage:live:{int(session_id)}:{name}"


# --- Redis access with a circuit breaker ------------------------------------------------------------------------

_redis_lock = threading.Lock()
_redis_client = None
_redis_url = None
_redis_down_until = 0.0


def redis_client():
    """The process's Redis client for the room's counters, or None without REDIS_URL or while Redis is down."""
    global _redis_client, _redis_url
    url = getattr(settings, "REDIS_URL", None)
    if not url or time.monotonic() < _redis_down_until:
        return None
    with _redis_lock:
        if _redis_client is None or _redis_url != url:
            import redis

            _redis_client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
            _redis_url = url
        return _redis_client


def _redis_failed(what: str) -> None:
    global _redis_down_until
    _redis_down_until = time.monotonic() + REDIS_RETRY_AFTER
    logger.warning("live room: Redis unavailable for %s; falling back", what, exc_info=True)


def reset_redis() -> None:
    """Forget the client and any remembered outage (tests, and after a fork)."""
    global _redis_client, _redis_url, _redis_down_until
    with _redis_lock:
        _redis_client, _redis_url, _redis_down_until = None, None, 0.0


# --- event ids ----------------------------------------------------------------------------------------------------

# A fresh counter (a new session, or Redis lost its data) starts at the current time in microseconds (within
# JavaScript's safe integers), so ids issued after a reset are still larger than any a page has seen: it notices a gap
# and re-snapshots instead of ignoring them.
_NEXT_ID = """
local v = redis.call('INCR', KEYS[1])
if v == 1 then v = tonumber(ARGV[1]); redis.call('SET', KEYS[1], v) end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return v
"""
_local_ids: dict[int, itertools.count] = {}
_local_ids_lock = threading.Lock()


def _seed() -> int:
    return int(time.time() * 1_000_000)


def next_event_id(session_id: int) -> int | None:
    """The next id of the session's events. Without REDIS_URL, a process-local counter (the embedded default runs
    one process). With REDIS_URL but Redis down: None, which tells the pages to re-snapshot."""
    if not getattr(settings, "REDIS_URL", None):
        with _local_ids_lock:
            counter = _local_ids.setdefault(int(session_id), itertools.count(_seed()))
            return next(counter)
    client = redis_client()
    if client is None:
        return None
    try:
        return int(client.eval(_NEXT_ID, 1, _key(session_id, "event_id"), _seed(), EVENT_ID_TTL))
    except Exception:
        _redis_failed("event id")
        return None


def last_event_id(session_id: int) -> int:
    """The id of the session's latest event (0 if none or unknown): the snapshot carries it, and a page applies only
    events after it. Read it BEFORE building the snapshot so an event racing the snapshot is applied twice at worst
    (events are idempotent on the page: a message id seen twice is shown once), never lost."""
    if not getattr(settings, "REDIS_URL", None):
        with _local_ids_lock:
            counter = _local_ids.setdefault(int(session_id), itertools.count(_seed()))
            # itertools.count has no peek: take one and put a fresh counter after it, so the next id is unchanged.
            current = next(counter)
            _local_ids[int(session_id)] = itertools.count(current)
            return current - 1
    client = redis_client()
    if client is None:
        return 0
    try:
        value = client.get(_key(session_id, "event_id"))
    except Exception:
        _redis_failed("last event id")
        return 0
    return int(value) if value else 0


# --- events -------------------------------------------------------------------------------------------------------


_pending_sends: set[asyncio.Future] = set()
_publisher_lock = threading.Lock()
_publisher_loop: tuple[int, asyncio.AbstractEventLoop] | None = None
PUBLISH_TIMEOUT = 5.0


def _publisher() -> asyncio.AbstractEventLoop:
    """The process's publishing loop: an event loop in a daemon thread that carries the sends of sync code (Celery,
    commands, threads without an outer loop). async_to_sync there would make a new event loop per send, and the
    pub/sub layer a new Redis connection per loop: milliseconds per event before the PUBLISH. One loop keeps one
    connection. Started lazily and again after a fork (a forked child has the loop object but not its thread)."""
    global _publisher_loop
    with _publisher_lock:
        if _publisher_loop is None or _publisher_loop[0] != os.getpid() or _publisher_loop[1].is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="live-publisher", daemon=True).start()
            _publisher_loop = (os.getpid(), loop)
        return _publisher_loop[1]


def _group_send(messages: list[tuple[str, dict]]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all():
        for group, message in messages:
            await layer.group_send(group, message)

    try:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            if isinstance(layer, InMemoryChannelLayer):
                # process-local queues belong to the loop of the sockets: async_to_sync reaches it (or makes one)
                async_to_sync(send_all)()
            else:
                asyncio.run_coroutine_threadsafe(send_all(), _publisher()).result(timeout=PUBLISH_TIMEOUT)
        else:  # called from async code (a consumer's own loop): schedule instead of blocking the loop
            future = asyncio.ensure_future(send_all())
            _pending_sends.add(future)
            future.add_done_callback(_pending_sends.discard)
    except Exception:
        logger.warning("live room: channel layer send failed", exc_info=True)


def render_event(session_id: int, event: dict) -> str:
    """The JSON text frame of an event: `{"id": <event id or null>, "type": ..., ...}` with the event's own keys."""
    if not isinstance(event, dict) or not event.get("type"):
        raise ValueError("a live event is a dict with a 'type'")
    frame = {"id": next_event_id(session_id), **event}
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"), default=str)


def send_event_now(*, session_id: int, event: dict, audience: bool = True) -> None:
    """Serialises `event` once and sends it to the moderators and, when `audience`, to the audience. Use
    `publish_event` from services: it waits for the transaction to commit."""
    text = render_event(session_id, event)
    message = {"type": FRAME_TYPE, "text": text}
    messages = [(moderator_group(session_id), message)]
    if audience:
        messages.append((audience_group(session_id), message))
    _group_send(messages)


def publish_event(*, session_id: int, event: dict, audience: bool = True) -> None:
    """Broadcasts `event` (a dict with a `type`, e.g. `{"type": "chat", "message": {...}}`) to the session's room once
    the current transaction commits (at once outside one). `audience=False` keeps it among moderators (moderation
    traffic: a queued question, a deleted message's author, a mute). Never raises for an outage."""
    if not isinstance(event, dict) or not event.get("type"):
        raise ValueError("a live event is a dict with a 'type'")
    transaction.on_commit(lambda: send_event_now(session_id=session_id, event=event, audience=audience), robust=True)


def send_to_channel(channel_name: str, message: dict) -> None:
    """A direct message to one socket's channel (the consumers' replacement notice)."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.send)(channel_name, message)
    except Exception:
        logger.warning("live room: channel send failed", exc_info=True)


# --- tallies ------------------------------------------------------------------------------------------------------

_SEP = "\x1f"
_local_pending: dict[tuple[int, str], dict[str, dict[str, float]]] = defaultdict(lambda: {"d": {}, "v": {}})
_local_pending_lock = threading.Lock()
_local_flushed_at: dict[int, float] = {}
_local_viewers_sent: dict[int, int] = {}


def _scope(audience: bool) -> str:
    return "a" if audience else "m"


def _number(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    raise ValueError("a tally value is a number")


def _add_now(session_id: int, kind: str, key: str, delta, value, audience: bool) -> None:
    field = f"{kind}{_SEP}{key}"
    scope = _scope(audience)
    client = redis_client() if getattr(settings, "REDIS_URL", None) else None
    if getattr(settings, "REDIS_URL", None):
        if client is None:
            return  # Redis is down: the tally is lost, the snapshot still has the truth
        try:
            pipe = client.pipeline(transaction=False)
            if value is None:
                pipe.hincrbyfloat(_key(session_id, f"tally:d:{scope}"), field, delta)
            else:
                pipe.hset(_key(session_id, f"tally:v:{scope}"), field, json.dumps(_number(value)))
            pipe.expire(_key(session_id, f"tally:d:{scope}"), 3600)
            pipe.expire(_key(session_id, f"tally:v:{scope}"), 3600)
            pipe.execute()
        except Exception:
            _redis_failed("tally")
        return
    with _local_pending_lock:
        pending = _local_pending[(int(session_id), scope)]
        if value is None:
            pending["d"][field] = pending["d"].get(field, 0) + delta
        else:
            pending["v"][field] = _number(value)


def coalesce(*, session_id: int, kind: str, key, delta=1, value=None, audience: bool = True) -> None:
    """Adds `delta` to the tally `kind`/`key` of the session (or sets it to `value`, e.g. a question's score or a
    poll option's count). The flusher sends the room's pending tallies as one `tally` message about once a second:
    `{"type": "tally", "<kind>": {"<key>": number}, ...}`; `audience=False` tallies (poll results not yet shown)
    reach only the moderators. Inside a transaction the tally waits for the commit."""
    if not kind or _SEP in str(kind) or _SEP in str(key):
        raise ValueError("a tally has a kind and a key")
    delta = _number(delta)
    if value is not None:
        _number(value)
    args = (int(session_id), str(kind), str(key), delta, value, audience)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: _add_now(*args), robust=True)
    else:
        _add_now(*args)


def _decode(hashes: list[dict], *, integral=True) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for kind_values in hashes:
        for field, raw in kind_values.items():
            field = field.decode() if isinstance(field, bytes) else field
            raw = raw.decode() if isinstance(raw, bytes) else raw
            kind, _, key = field.partition(_SEP)
            number = json.loads(raw) if isinstance(raw, str) else raw
            if isinstance(number, float) and number.is_integer():
                number = int(number)
            out.setdefault(kind, {})[key] = number
    return out


def _merge(*parts: dict) -> dict:
    merged: dict = {}
    for part in parts:
        for kind, values in part.items():
            merged.setdefault(kind, {}).update(values)
    return merged


_TAKE = """
local out = {}
for i, k in ipairs(KEYS) do
  out[i] = redis.call('HGETALL', k)
  redis.call('DEL', k)
end
return out
"""


def _take_redis(client, session_id: int):
    """Takes (reads and deletes, atomically) the session's pending tallies if this process holds the room's flush
    slot for this interval; None if another process does."""
    slot = client.set(_key(session_id, "flush"), "1", nx=True, px=int(FLUSH_INTERVAL * 1000 * 0.9))
    if not slot:
        return None
    keys = [_key(session_id, f"tally:{part}:{scope}") for scope in "am" for part in "dv"]
    raw = client.eval(_TAKE, len(keys), *keys)
    hashes = [dict(zip(flat[::2], flat[1::2], strict=True)) for flat in raw]
    audience = _decode(hashes[0:2])
    moderators = _decode(hashes[2:4])
    now = time.time()
    pipe = client.pipeline(transaction=False)
    pipe.zremrangebyscore(_key(session_id, "present"), "-inf", now)
    pipe.zcard(_key(session_id, "present"))
    _, viewers = pipe.execute()
    previous = client.getset(_key(session_id, "viewers_sent"), viewers)
    client.expire(_key(session_id, "viewers_sent"), 3600)
    if previous is None or int(previous) != viewers:
        audience.setdefault("viewers", {})["count"] = viewers
    return audience, moderators


def _take_local(session_id: int):
    now = time.monotonic()
    with _local_pending_lock:
        if now - _local_flushed_at.get(session_id, 0.0) < FLUSH_INTERVAL * 0.9:
            return None
        _local_flushed_at[session_id] = now
        parts = []
        for scope in "am":
            pending = _local_pending.pop((session_id, scope), {"d": {}, "v": {}})
            parts.append(_decode([pending["d"], {f: json.dumps(v) for f, v in pending["v"].items()}]))
        viewers = len(_local_present.get(session_id, {}))
        if _local_viewers_sent.get(session_id) != viewers:
            _local_viewers_sent[session_id] = viewers
            parts[0].setdefault("viewers", {})["count"] = viewers
    return parts[0], parts[1]


def tally_messages(session_id: int) -> list[tuple[str, dict]]:
    """Takes the room's pending tallies (if any, and if this process holds this interval's slot) and returns them as
    one channel-layer message per group."""
    session_id = int(session_id)
    if getattr(settings, "REDIS_URL", None):
        client = redis_client()
        if client is None:
            return []
        try:
            taken = _take_redis(client, session_id)
        except Exception:
            _redis_failed("flush")
            return []
    else:
        taken = _take_local(session_id)
    if taken is None:
        return []
    audience, moderators_only = taken
    messages: list[tuple[str, dict]] = []
    moderators = _merge(audience, moderators_only)
    if moderators:
        text = json.dumps({"type": "tally", **moderators}, ensure_ascii=False, separators=(",", ":"))
        messages.append((moderator_group(session_id), {"type": FRAME_TYPE, "text": text}))
    if audience:
        text = json.dumps({"type": "tally", **audience}, ensure_ascii=False, separators=(",", ":"))
        messages.append((audience_group(session_id), {"type": FRAME_TYPE, "text": text}))
    return messages


def flush_room(session_id: int) -> bool:
    """Sends the room's pending tallies now (from sync code); returns whether something was sent."""
    messages = tally_messages(session_id)
    _group_send(messages)
    return bool(messages)


# --- presence (viewer count and list) -----------------------------------------------------------------------------

_local_present: dict[int, dict[int, float]] = defaultdict(dict)


def presence_touch(session_id: int, user_ids) -> None:
    """Marks the users as present in the room for the next PRESENCE_TTL seconds (on connect and every ~30 s)."""
    user_ids = [int(u) for u in user_ids]
    if not user_ids:
        return
    until = time.time() + PRESENCE_TTL
    if getattr(settings, "REDIS_URL", None):
        client = redis_client()
        if client is None:
            return
        try:
            pipe = client.pipeline(transaction=False)
            pipe.zadd(_key(session_id, "present"), {str(u): until for u in user_ids})
            pipe.expire(_key(session_id, "present"), PRESENCE_TTL * 4)
            pipe.execute()
        except Exception:
            _redis_failed("presence")
        return
    with _local_pending_lock:
        for user_id in user_ids:
            _local_present[int(session_id)][user_id] = until


def presence_leave(session_id: int, user_id: int) -> None:
    if getattr(settings, "REDIS_URL", None):
        client = redis_client()
        if client is None:
            return
        try:
            client.zrem(_key(session_id, "present"), str(int(user_id)))
        except Exception:
            _redis_failed("presence")
        return
    with _local_pending_lock:
        _local_present[int(session_id)].pop(int(user_id), None)


def present_user_ids(session_id: int) -> list[int]:
    """The users with a socket open in the room now (the moderator console's viewer list)."""
    now = time.time()
    if getattr(settings, "REDIS_URL", None):
        client = redis_client()
        if client is None:
            return []
        try:
            return [int(u) for u in client.zrangebyscore(_key(session_id, "present"), now, "+inf")]
        except Exception:
            _redis_failed("presence")
            return []
    with _local_pending_lock:
        present = _local_present.get(int(session_id), {})
        return sorted(u for u, until in present.items() if until > now)


def viewer_count(session_id: int) -> int:
    return len(present_user_ids(session_id))


# --- the flusher --------------------------------------------------------------------------------------------------


class Flusher:
    """One per process and event loop: ticks every FLUSH_INTERVAL over the rooms this process has sockets for,
    flushing their tallies and refreshing the presence of their sockets every ~30 s. Consumers call `join` on
    connect and `leave` on disconnect; the task stops when the last room is left."""

    PRESENCE_REFRESH = 30.0

    def __init__(self):
        self.rooms: dict[int, dict[str, int]] = {}  # session id -> channel name -> user id
        self.task: asyncio.Task | None = None
        self._refreshed_at = 0.0

    def join(self, session_id: int, channel_name: str, user_id: int) -> None:
        self.rooms.setdefault(int(session_id), {})[channel_name] = int(user_id)
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._run())

    def leave(self, session_id: int, channel_name: str) -> None:
        room = self.rooms.get(int(session_id))
        if room is not None:
            room.pop(channel_name, None)
            if not room:
                del self.rooms[int(session_id)]

    async def tick(self) -> None:
        refresh = time.monotonic() - self._refreshed_at >= self.PRESENCE_REFRESH
        if refresh:
            self._refreshed_at = time.monotonic()
        layer = get_channel_layer()
        for session_id, sockets in list(self.rooms.items()):
            if refresh:
                await asyncio.to_thread(presence_touch, session_id, set(sockets.values()))
            for group, message in await asyncio.to_thread(tally_messages, session_id):
                try:
                    await layer.group_send(group, message)
                except Exception:
                    logger.warning("live room: tally send failed", exc_info=True)

    async def _run(self) -> None:
        # Keep ticking a little after the last socket left, so the leave's viewer count still goes out.
        idle = 0
        while idle < 3:
            await asyncio.sleep(FLUSH_INTERVAL)
            idle = idle + 1 if not self.rooms else 0
            try:
                await self.tick()
            except Exception:
                logger.exception("live room flusher tick failed")
        self.task = None


_flushers: dict[int, Flusher] = {}


def flusher() -> Flusher:
    """This event loop's flusher (one per process in production; tests run several loops)."""
    loop = asyncio.get_running_loop()
    found = _flushers.get(id(loop))
    if found is None or getattr(found, "_loop", None) is not loop:
        found = Flusher()
        found._loop = loop
        _flushers[id(loop)] = found
    return found


# --- one socket per user and session ------------------------------------------------------------------------------

_local_sockets: dict[tuple[int, int], str] = {}
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]); return 1 end
return 0
"""


def socket_claim(session_id: int, user_id: int, channel_name: str) -> str | None:
    """Records `channel_name` as the user's socket in the room and returns the one it replaces (or None)."""
    if getattr(settings, "REDIS_URL", None):
        client = redis_client()
        if client is None:
            return None
        try:
            key = _key(session_id, f"socket:{int(user_id)}")
            pipe = client.pipeline(transaction=True)
            pipe.getset(key, channel_name)
            pipe.expire(key, 24 * 3600)
            previous, _ = pipe.execute()
        except Exception:
            _redis_failed("socket claim")
            return None
        return previous.decode() if previous else None
    with _local_pending_lock:
        previous = _local_sockets.get((int(session_id), int(user_id)))
        _local_sockets[(int(session_id), int(user_id))] = channel_name
        return previous


def socket_current(session_id: int, user_id: int) -> str | None:
    if getattr(settings, "REDIS_URL", None):
        client = redis_client()
        if client is None:
            return None
        try:
            value = client.get(_key(session_id, f"socket:{int(user_id)}"))
        except Exception:
            _redis_failed("socket lookup")
            return None
        return value.decode() if value else None
    with _local_pending_lock:
        return _local_sockets.get((int(session_id), int(user_id)))


def socket_release(session_id: int, user_id: int, channel_name: str) -> bool:
    """Forgets the user's socket if it is still `channel_name`; returns whether it was (the user left the room)."""
    if getattr(settings, "REDIS_URL", None):
        client = redis_client()
        if client is None:
            return True
        try:
            return bool(client.eval(_RELEASE, 1, _key(session_id, f"socket:{int(user_id)}"), channel_name))
        except Exception:
            _redis_failed("socket release")
            return True
    with _local_pending_lock:
        if _local_sockets.get((int(session_id), int(user_id))) == channel_name:
            del _local_sockets[(int(session_id), int(user_id))]
            return True
        return False
