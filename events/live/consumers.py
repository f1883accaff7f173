"""The live room's WebSocket (`/ws/live/<session>/`): one socket per viewer and session.

Entering: `room_entry` decides; a refused socket is accepted, told why (`{"type": "refused", "code", "message"}`)
and closed with a close code the page explains (CLOSE_CODES). A second socket of the same user replaces the first
(4409), so opening several tabs never inflates watch time.

Inbound: JSON messages `{"type": ..., "ref": <echoed>, ...}` call one service each (through
database_sync_to_async); a refusal is answered `{"type": "error", "ref", "code", "message"}` with the DomainError's
code, success `{"type": "ok", "ref", ...}`. Oversized, malformed or unknown messages get an error, never a crash.

Outbound: the room's events arrive as ready JSON text (events.live.broadcast serialises each once). One
`RoomHub` per process holds the room's channel-layer subscriptions (one per group: audience / moderators) and
receives every frame once; it hands the same ASGI message (the same text) to each local socket of the group, or,
under uvicorn, writes the frame's bytes (built once) to each socket's transport (events.live.direct). A
socket sends it at once when its transport takes it (the usual case: no task, no queue); behind a send that has to
wait, frames wait in a bounded backlog, and a socket whose backlog is full cannot keep up: it is closed with 4429
and the page reconnects and resyncs from the snapshot. Join and leave are never broadcast; the viewer count is a
coalesced tally (broadcast.Flusher).

Sockets have no channel-layer channel of their own (that would be one Redis subscription, one queue and one
listening task per viewer): the hub's one control channel per process addresses them (`<control channel>!<n>`),
for the replacement and ban notices.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import types
from collections import deque

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.utils.translation import gettext as _

from engage.core.errors import DomainError
from events.live import broadcast, direct, selectors, services
from events.live.models import LiveSession

logger = logging.getLogger(__name__)

CLOSE_CODES = {
    "not_signed_in": 4401,
    "not_in_audience": 4403,
    "not_registered": 4406,
    "live_session_not_found": 4404,
    "replaced": 4409,
    "banned": 4410,
    "ended": 4411,
    "too_slow": 4429,
}
MAX_MESSAGE_BYTES = 4096
SEND_QUEUE_SIZE = 256  # frames a socket may lag behind before it is dropped (it resyncs from the snapshot)
NO_CHANNEL_LAYER = "live-room-sockets-have-no-channel"  # an alias Channels resolves to no layer (see LiveRoomConsumer)
INBOUND_PER_SECOND = 10  # messages a socket may send per second (a token bucket), beyond: error "rate_limited"


def _step(coro):
    """Runs a coroutine until it first has to wait: None if it finished (a socket whose transport takes the frame at
    once, the usual case), else what it waits on. A raising send (the client is gone) counts as finished: the
    socket's disconnect follows."""
    try:
        return coro.send(None)
    except StopIteration:
        return None
    except Exception:
        logger.debug("live room: send to a closing socket failed", exc_info=True)
        return None


@types.coroutine
def _resume(coro, waiting_on):
    """Continues, inside a task, a coroutine `_step` left waiting on `waiting_on`: what a task would have done had
    the coroutine started in one (Python 3.12's eager tasks, by hand)."""
    try:
        yield waiting_on
    except BaseException:
        coro.close()
        raise
    return (yield from coro)


LEAVE_ACTIONS = {"replaced": "leave_replaced", "banned": "leave_banned"}  # control action -> consumer method


class RoomHub:
    """Per process and event loop: one channel-layer subscription per room group, fanning each frame out to the
    local sockets of that group as the same message; and one control channel addressing the local sockets."""

    def __init__(self):
        self.groups: dict[str, set[LiveRoomConsumer]] = {}
        self.readers: dict[str, asyncio.Task] = {}
        self.channels: dict[str, str] = {}
        self.sockets: dict[str, LiveRoomConsumer] = {}
        self.control: str | None = None
        self.control_reader: asyncio.Task | None = None
        self.numbers = itertools.count(1)
        self.leaving: set[asyncio.Task] = set()
        self.lock = asyncio.Lock()

    async def register(self, consumer: LiveRoomConsumer, layer) -> str:
        """The socket's address (`<control channel>!<n>`), for `notify`."""
        async with self.lock:
            if self.control is None:
                self.control = await layer.new_channel(prefix="live-hub.")
                self.control_reader = asyncio.ensure_future(self._read_control(self.control, layer))
            number = str(next(self.numbers))
            self.sockets[number] = consumer
            return f"{self.control}!{number}"

    async def unregister(self, address: str) -> None:
        async with self.lock:
            control, _, number = address.rpartition("!")
            if control != self.control:
                return
            self.sockets.pop(number, None)
            if not self.sockets and self.control_reader is not None:
                self.control_reader.cancel()
                self.control, self.control_reader = None, None

    async def add(self, group: str, consumer: LiveRoomConsumer, layer) -> None:
        async with self.lock:
            members = self.groups.setdefault(group, set())
            members.add(consumer)
            if group not in self.readers:
                channel = await layer.new_channel(prefix="live-hub.")
                await layer.group_add(group, channel)
                self.channels[group] = channel
                self.readers[group] = asyncio.ensure_future(self._read(group, channel, layer))

    async def remove(self, group: str, consumer: LiveRoomConsumer, layer) -> None:
        async with self.lock:
            members = self.groups.get(group)
            if members is None:
                return
            members.discard(consumer)
            if members:
                return
            del self.groups[group]
            reader = self.readers.pop(group, None)
            channel = self.channels.pop(group, None)
            if channel is not None:
                try:
                    await layer.group_discard(group, channel)
                except Exception:
                    logger.warning("live hub: group_discard failed", exc_info=True)
            if reader is not None:
                reader.cancel()

    async def _receive(self, channel: str, layer) -> dict | None:
        try:
            message = await layer.receive(channel)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("live hub: receive failed", exc_info=True)
            await asyncio.sleep(1)
            return None
        return message if isinstance(message, dict) else None

    async def _read(self, group: str, channel: str, layer) -> None:
        while True:
            message = await self._receive(channel, layer)
            text = message.get("text") if message else None
            if not isinstance(text, str):
                continue
            frame = {"type": "websocket.send", "text": text}  # one message for every socket: nobody changes it
            wire = None  # the frame's bytes, built once for the sockets that take them directly (events.live.direct)
            for consumer in list(self.groups.get(group, ())):
                if consumer.direct is not None and consumer.sending is None and not consumer.dropped:
                    if wire is None:
                        wire = direct.text_frame(text)
                    consumer.write(wire)
                else:
                    consumer.push(frame)

    async def _read_control(self, channel: str, layer) -> None:
        while True:
            message = await self._receive(channel, layer)
            consumer = self.sockets.get(str(message.get("socket"))) if message else None
            leave = LEAVE_ACTIONS.get(message.get("action")) if message else None
            if consumer is not None and leave is not None:
                task = asyncio.ensure_future(getattr(consumer, leave)())
                self.leaving.add(task)
                task.add_done_callback(self.leaving.discard)


async def notify(address: str, action: str) -> None:
    """Tells the socket at `address` (in whichever process) to leave the room: `replaced` or `banned`."""
    control, _, number = address.rpartition("!")
    layer = get_channel_layer()
    if not control or layer is None:
        return
    try:
        await layer.send(control, {"type": "live.control", "socket": number, "action": action})
    except Exception:
        logger.warning("live room: control message failed", exc_info=True)


_hubs: dict[int, tuple[asyncio.AbstractEventLoop, RoomHub]] = {}


def room_hub() -> RoomHub:
    loop = asyncio.get_running_loop()
    found = _hubs.get(id(loop))
    if found is None or found[0] is not loop:
        found = (loop, RoomHub())
        _hubs[id(loop)] = found
    return found[1]


# --- database access (sync, in a thread) --------------------------------------------------------------------------


@database_sync_to_async
def _enter(user, session_id):
    # A copy of the user decides: the checks cache the profile and access level on the object they get, and the
    # scope's user lives as long as the socket (for 10,000 sockets, every cached kilobyte counts ten megabytes).
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=user.pk, is_active=True).first()
    if user is None:
        raise DomainError("not_signed_in", _("Sign in to join the live session."))
    session = selectors.access_live_session(user=user, live_session_id=session_id)
    entry = selectors.room_entry(user=user, session=session)
    return session, entry


def _question_action(action):
    def act(session, user, data):
        question = selectors.question_of(session, data.get("question_id"))
        return services.question_moderate(question=question, actor=user, action=action)
    return act


def _poll_action(service):
    def act(session, user, data):
        return service(poll=selectors.poll_of(session, data.get("poll_id")), actor=user)
    return act


def _user_in_room(session, data):
    from django.contrib.auth import get_user_model

    try:
        return get_user_model().objects.get(pk=int(data.get("user_id")))
    except (TypeError, ValueError, get_user_model().DoesNotExist):
        raise DomainError("user_not_found", _("No such participant.")) from None


def _sanction(service):
    def act(session, user, data):
        target = _user_in_room(session, data)
        return service(session=session, user=target, actor=user, reason=str(data.get("reason") or "")[:200])
    return act


def _lift(service):
    def act(session, user, data):
        return service(session=session, user=_user_in_room(session, data), actor=user)
    return act


def _text(data, name="text") -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise DomainError("invalid_message", _("The message is not valid."))
    return value


def _ids(value) -> list[int]:
    if not isinstance(value, list) or not value or len(value) > 20:
        raise DomainError("bad_options", _("Choose an option."))
    try:
        return [int(v) for v in value if not isinstance(v, bool)]
    except (TypeError, ValueError):
        raise DomainError("bad_options", _("Choose an option.")) from None


def _heartbeat(session, user, data):
    mode = data.get("mode", "live")
    if mode not in ("live", "replay"):
        raise DomainError("invalid_message", _("The message is not valid."))
    position = data.get("position")
    if position is not None and (isinstance(position, bool) or not isinstance(position, (int, float))):
        position = None
    return services.heartbeat_record(session=session, viewer=user, mode=mode, position=position)


def _poll_create(session, user, data):
    options = data.get("options")
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise DomainError("invalid_options", _("Give at least two options."))
    kind = data.get("kind", "single")
    return services.poll_create(session=session, actor=user, question=_text(data, "question"), options=options,
                                kind=kind if isinstance(kind, str) else "single")


def _state(session, user, data):
    return services.live_state_set(session=session, state=_text(data, "state"), actor=user)


def _results(session, user, data):
    return services.poll_show_results(poll=selectors.poll_of(session, data.get("poll_id")), actor=user,
                                      shown=bool(data.get("shown", True)))


# Each inbound message type and the service it calls (the services check who may do it).
ACTIONS = {
    "chat": lambda s, u, d: services.chat_post(session=s, author=u, text=_text(d)),
    "question": lambda s, u, d: services.question_ask(session=s, author=u, text=_text(d),
                                                      anonymous=bool(d.get("anonymous", False))),
    "vote": lambda s, u, d: services.question_vote(question=selectors.question_of(s, d.get("question_id")), user=u),
    "poll_vote": lambda s, u, d: services.poll_vote(poll=selectors.poll_of(s, d.get("poll_id")), user=u,
                                                    option_ids=_ids(d.get("option_ids"))),
    "reaction": lambda s, u, d: services.reaction_send(session=s, user=u, emoji=_text(d, "emoji")),
    "heartbeat": _heartbeat,
    "prompt_answer": lambda s, u, d: services.prompt_answer(session=s, viewer=u),
    # moderators
    "approve": _question_action("approve"),
    "dismiss": _question_action("dismiss"),
    "pin": _question_action("pin"),
    "unpin": _question_action("unpin"),
    "answered": _question_action("answered"),
    "delete": lambda s, u, d: services.chat_delete(message=selectors.message_of(s, d.get("message_id")), actor=u),
    "mute": _sanction(services.participant_mute),
    "ban": _sanction(services.participant_ban),
    "unmute": _lift(services.participant_unmute),
    "unban": _lift(services.participant_unban),
    "poll_create": _poll_create,
    "poll_open": _poll_action(services.poll_open),
    "poll_close": _poll_action(services.poll_close),
    "poll_results": _results,
    "state": _state,
}


def _reply_payload(result) -> dict:
    """What an `ok` answer carries: a heartbeat's figures, or the id of the row written."""
    if isinstance(result, dict):
        return {"result": result}
    if isinstance(result, bool):
        return {"result": result}
    if getattr(result, "pk", None) is not None:
        return {"object_id": result.pk}
    return {}


@database_sync_to_async
def _act(kind, session_id, user, data):
    # The session is read again for each message: its state (live, ended) and settings may have changed; so is the
    # user (as in _enter: what the services cache on it must not stay on the socket's scope).
    from django.contrib.auth import get_user_model

    session = LiveSession.objects.select_related("event").get(pk=session_id)
    user = get_user_model().objects.filter(pk=user.pk, is_active=True).first()
    if user is None:
        raise DomainError("not_signed_in", _("Sign in to join the live session."))
    return ACTIONS[kind](session, user, data)


@database_sync_to_async
def _viewers(session_id):
    from django.contrib.auth import get_user_model

    ids = broadcast.present_user_ids(session_id)
    users = get_user_model().objects.filter(pk__in=ids[:500]).order_by("pk")
    return [{"id": u.pk, "name": u.get_full_name() or u.get_username()} for u in users]


class LiveRoomConsumer(AsyncWebsocketConsumer):
    """One viewer's (or moderator's) socket in one live session's room."""

    # No per-socket channel (Channels would subscribe one in Redis and keep a listening task per viewer): the
    # process's RoomHub receives for all of them. The hub uses the default layer itself.
    channel_layer_alias = NO_CHANNEL_LAYER

    async def connect(self):
        self.session_id = None
        self.address = None
        self.groups_joined: list[str] = []
        self.backlog: deque[dict] | None = None  # made when a send first has to wait: most sockets never need one
        self.direct = None  # writes ready frames to the transport, under uvicorn (events.live.direct)
        self.sending: asyncio.Task | None = None
        self.replaced = False
        self.dropped = False
        self.tokens = float(INBOUND_PER_SECOND)
        self.tokens_at = asyncio.get_running_loop().time()
        user = self.scope.get("user")
        session_id = self.scope["url_route"]["kwargs"]["session_id"]
        await self.accept()
        self.direct = direct.writer_for(self.base_send)
        if user is None or not user.is_authenticated:
            await self._refuse("not_signed_in", _("Sign in to join the live session."))
            return
        try:
            session, entry = await _enter(user, session_id)
        except DomainError as error:
            await self._refuse(error.code, error.message)
            return
        self.user = user
        self.session_id = session.pk
        self.entry = entry
        groups = [broadcast.moderator_group(session.pk) if entry.moderator else broadcast.audience_group(session.pk)]
        hub, layer = room_hub(), get_channel_layer()
        self.address = await hub.register(self, layer)
        for group in groups:
            await hub.add(group, self, layer)
            self.groups_joined.append(group)
        previous = await asyncio.to_thread(broadcast.socket_claim, session.pk, user.pk, self.address)
        if previous and previous != self.address:
            await notify(previous, "replaced")
        await asyncio.to_thread(broadcast.presence_touch, session.pk, [user.pk])
        broadcast.flusher().join(session.pk, self.address, user.pk)
        self._answer({"type": "hello", "role": entry.role, "mode": entry.mode, "muted": entry.muted,
                      "user_id": user.pk})

    async def _refuse(self, code: str, message) -> None:
        await self.send(text_data=json.dumps({"type": "refused", "code": code, "message": str(message)},
                                             ensure_ascii=False))
        await self.close(code=CLOSE_CODES.get(code, 4403))

    def push(self, message: dict) -> None:
        """Sends an ASGI message now if the socket takes it; behind a send that waits it joins the backlog, and a
        socket lagging SEND_QUEUE_SIZE frames behind is dropped (closed with 4429; the page resyncs)."""
        if self.dropped:
            return
        if self.sending is not None:
            if self.backlog is None:
                self.backlog = deque()
            if len(self.backlog) >= SEND_QUEUE_SIZE:
                self.dropped = True  # the send in flight closes the socket when it is through (_send_backlog)
                self.backlog.clear()
            else:
                self.backlog.append(message)
            return
        coro = self.base_send(message)
        waiting_on = _step(coro)
        if waiting_on is not None:
            self.sending = asyncio.ensure_future(self._send_backlog(coro, waiting_on))

    def write(self, wire: bytes) -> None:
        """Writes a room frame's ready bytes to this socket's transport (only when no ASGI send is in flight, so
        frames keep their order); a socket too far behind is dropped like one whose backlog is full."""
        outcome = self.direct(wire)
        if outcome == direct.TOO_SLOW:
            logger.warning("live room %s: socket of user %s cannot keep up, closed (4429)", self.session_id,
                           getattr(self.user, "pk", None))
            self.dropped = True
            self.sending = asyncio.ensure_future(self._close_too_slow())

    async def _close_too_slow(self) -> None:
        try:
            await self.close(code=CLOSE_CODES["too_slow"])
        except Exception:
            logger.debug("live room: closing a slow socket failed", exc_info=True)

    def enqueue(self, text: str) -> None:
        """Queues a text frame for this socket (see `push`)."""
        self.push({"type": "websocket.send", "text": text})

    async def _send_backlog(self, coro, waiting_on) -> None:
        try:
            await _resume(coro, waiting_on)
            while self.backlog and not self.dropped:  # None or empty: nothing waits
                await self.base_send(self.backlog.popleft())
            if self.dropped:
                await self.close(code=CLOSE_CODES["too_slow"])
        except Exception:
            logger.debug("live room: send to a closing socket failed", exc_info=True)
        finally:
            self.sending = None

    async def disconnect(self, code):
        if self.sending is not None:
            self.sending.cancel()
        if self.session_id is None:
            return
        hub, layer = room_hub(), get_channel_layer()
        for group in self.groups_joined:
            await hub.remove(group, self, layer)
        await hub.unregister(self.address)
        broadcast.flusher().leave(self.session_id, self.address)
        if not self.replaced:
            current = await asyncio.to_thread(broadcast.socket_release, self.session_id, self.user.pk, self.address)
            if current:
                await asyncio.to_thread(broadcast.presence_leave, self.session_id, self.user.pk)

    async def leave_replaced(self):
        """Another socket of the same user entered the room: this one leaves."""
        self.replaced = True
        self._answer({"type": "refused", "code": "replaced",
                      "message": str(_("You opened the live session somewhere else."))})
        await self.close(code=CLOSE_CODES["replaced"])

    async def leave_banned(self):
        """A moderator banned this participant: the open socket leaves the room at once."""
        self._answer({"type": "refused", "code": "banned",
                      "message": str(_("A moderator has removed you from this live session."))})
        await self.close(code=CLOSE_CODES["banned"])

    def _answer(self, payload: dict) -> None:
        self.enqueue(json.dumps(payload, ensure_ascii=False, default=str))

    def _error(self, ref, code: str, message) -> None:
        self._answer({"type": "error", "ref": ref, "code": code, "message": str(message)})

    def _allow(self) -> bool:
        now = asyncio.get_running_loop().time()
        self.tokens = min(float(INBOUND_PER_SECOND), self.tokens + (now - self.tokens_at) * INBOUND_PER_SECOND)
        self.tokens_at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    async def receive(self, text_data=None, bytes_data=None):
        if self.session_id is None:
            return
        if text_data is None or len(text_data.encode()) > MAX_MESSAGE_BYTES:
            self._error(None, "too_large", _("The message is too long."))
            return
        try:
            data = json.loads(text_data)
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            self._error(None, "invalid_message", _("The message is not valid."))
            return
        kind, ref = data["type"], data.get("ref")
        if not isinstance(ref, (str, int)) or isinstance(ref, bool):
            ref = None
        if kind == "ping":
            self._answer({"type": "pong", "ref": ref})
            return
        if not self._allow():
            self._error(ref, "rate_limited", _("Too many messages; wait a moment."))
            return
        if kind == "viewers":
            if not self.entry.moderator:
                self._error(ref, "forbidden", _("Only moderators may do this."))
                return
            self._answer({"type": "viewers", "ref": ref, "viewers": await _viewers(self.session_id)})
            return
        if kind not in ACTIONS:
            self._error(ref, "unknown_message", _("Unknown message type."))
            return
        try:
            result = await _act(kind, self.session_id, self.user, data)
        except DomainError as error:
            self._error(ref, error.code, error.message)
            return
        except Exception:
            logger.exception("live room: %s failed", kind)
            self._error(ref, "server_error", _("Something went wrong; try again."))
            return
        self._answer({"type": "ok", "ref": ref, "action": kind, **_reply_payload(result)})
        if kind == "ban":
            await self._kick(result.user_id)

    async def _kick(self, user_id: int) -> None:
        """A banned participant's open socket leaves the room at once (writes were refused already)."""
        address = await asyncio.to_thread(broadcast.socket_current, self.session_id, user_id)
        if address:
            await notify(address, "banned")
