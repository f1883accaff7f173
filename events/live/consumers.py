"""The live room's WebSocket (`/ws/live/<session>/`): one socket per viewer and session.

Entering: `room_entry` decides; a refused socket is accepted, told why (`{"type": "refused", "code", "message"}`)
and closed with a close code the page explains (CLOSE_CODES). A second socket of the same user replaces the first
(4409), so opening several tabs never inflates watch time.

Inbound: JSON messages `{"type": ..., "ref": <echoed>, ...}` call one service each (through
database_sync_to_async); a refusal is answered `{"type": "error", "ref", "code", "message"}` with the DomainError's
code, success `{"type": "ok", "ref", ...}`. Oversized, malformed or unknown messages get an error, never a crash.

Outbound: the room's events arrive as ready JSON text (events.live.broadcast serialises each once). One
`RoomHub` subscription per process and group (audience / moderators) receives every frame once and puts the same
string into each local socket's bounded queue; a writer task per socket sends it. A socket whose queue is full
cannot keep up: it is closed with 4429 and the page reconnects and resyncs from the snapshot. Join and leave are
never broadcast; the viewer count is a coalesced tally (broadcast.Flusher).
"""

from __future__ import annotations

import asyncio
import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils.translation import gettext as _

from engage.core.errors import DomainError
from events.live import broadcast, selectors, services

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
INBOUND_PER_SECOND = 10  # messages a socket may send per second (a token bucket), beyond: error "rate_limited"


class RoomHub:
    """Per process and event loop: one channel-layer subscription per room group, fanning each frame out to the
    local sockets of that group as the same string."""

    def __init__(self):
        self.groups: dict[str, set[LiveRoomConsumer]] = {}
        self.readers: dict[str, asyncio.Task] = {}
        self.channels: dict[str, str] = {}
        self.lock = asyncio.Lock()

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

    async def _read(self, group: str, channel: str, layer) -> None:
        while True:
            try:
                message = await layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("live hub: receive failed", exc_info=True)
                await asyncio.sleep(1)
                continue
            text = message.get("text") if isinstance(message, dict) else None
            if not isinstance(text, str):
                continue
            for consumer in list(self.groups.get(group, ())):
                consumer.enqueue(text)


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
    # The session is read again for each message: its state (live, ended) and settings may have changed.
    from events.live.models import LiveSession

    session = LiveSession.objects.select_related("event").get(pk=session_id)
    return ACTIONS[kind](session, user, data)


@database_sync_to_async
def _viewers(session_id):
    from django.contrib.auth import get_user_model

    ids = broadcast.present_user_ids(session_id)
    users = get_user_model().objects.filter(pk__in=ids[:500]).order_by("pk")
    return [{"id": u.pk, "name": u.get_full_name() or u.get_username()} for u in users]


class LiveRoomConsumer(AsyncWebsocketConsumer):
    """One viewer's (or moderator's) socket in one live session's room."""

    async def connect(self):
        self.session_id = None
        self.groups_joined: list[str] = []
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=SEND_QUEUE_SIZE)
        self.writer: asyncio.Task | None = None
        self.replaced = False
        self.dropped = False
        self.tokens = float(INBOUND_PER_SECOND)
        self.tokens_at = asyncio.get_running_loop().time()
        user = self.scope.get("user")
        session_id = self.scope["url_route"]["kwargs"]["session_id"]
        await self.accept()
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
        hub = room_hub()
        for group in groups:
            await hub.add(group, self, self.channel_layer)
            self.groups_joined.append(group)
        self.writer = asyncio.ensure_future(self._write())
        previous = await asyncio.to_thread(broadcast.socket_claim, session.pk, user.pk, self.channel_name)
        if previous and previous != self.channel_name:
            await self.channel_layer.send(previous, {"type": "live.replaced"})
        await asyncio.to_thread(broadcast.presence_touch, session.pk, [user.pk])
        broadcast.flusher().join(session.pk, self.channel_name, user.pk)
        self.enqueue(json.dumps({"type": "hello", "role": entry.role, "mode": entry.mode, "muted": entry.muted,
                                 "user_id": user.pk}))

    async def _refuse(self, code: str, message) -> None:
        await self.send(text_data=json.dumps({"type": "refused", "code": code, "message": str(message)},
                                             ensure_ascii=False))
        await self.close(code=CLOSE_CODES.get(code, 4403))

    def enqueue(self, text: str) -> None:
        """Queues a frame for this socket; a socket that lags SEND_QUEUE_SIZE frames behind is dropped."""
        if self.dropped:
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.dropped = True
            task = asyncio.ensure_future(self.close(code=CLOSE_CODES["too_slow"]))
            self._closing = task

    async def _write(self) -> None:
        while True:
            text = await self.queue.get()
            await self.send(text_data=text)

    async def disconnect(self, code):
        if self.writer is not None:
            self.writer.cancel()
        if self.session_id is None:
            return
        hub = room_hub()
        for group in self.groups_joined:
            await hub.remove(group, self, self.channel_layer)
        broadcast.flusher().leave(self.session_id, self.channel_name)
        if not self.replaced:
            current = await asyncio.to_thread(broadcast.socket_release, self.session_id, self.user.pk,
                                              self.channel_name)
            if current:
                await asyncio.to_thread(broadcast.presence_leave, self.session_id, self.user.pk)

    async def live_replaced(self, message):
        """Another socket of the same user entered the room: this one leaves."""
        self.replaced = True
        await self.send(text_data=json.dumps({"type": "refused", "code": "replaced",
                                              "message": str(_("You opened the live session somewhere else."))},
                                             ensure_ascii=False))
        await self.close(code=CLOSE_CODES["replaced"])

    async def live_frame(self, message):
        """A frame sent to this socket's own channel (the hub delivers the room's frames)."""
        text = message.get("text")
        if isinstance(text, str):
            self.enqueue(text)

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
        channel = await asyncio.to_thread(broadcast.socket_current, self.session_id, user_id)
        if channel:
            await self.channel_layer.send(channel, {"type": "live.banned"})

    async def live_banned(self, message):
        self.replaced = False
        await self.send(text_data=json.dumps({"type": "refused", "code": "banned",
                                              "message": str(_("A moderator has removed you from this live "
                                                               "session."))}, ensure_ascii=False))
        await self.close(code=CLOSE_CODES["banned"])
