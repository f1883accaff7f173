"""The live room's WebSocket against the real Redis pub/sub layer and PostgreSQL: who may enter (and the close code
the page explains), one socket per user, messages calling the services, moderation traffic kept from the audience,
coalesced tallies, and a socket that cannot keep up being dropped."""

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client

from engage.asgi import application
from events.live import broadcast, consumers
from events.live.models import Question, RoomSanction
from events.live.services import participant_ban, participant_mute
from events.pages.models import EventPage
from tests.events.factories import make_staff
from tests.events.live.core_helpers import make_live_session, registered_doctor
from tests.factories import make_doctor


def _run(scenario):
    broadcast.reset_redis()
    async_to_sync(scenario)()


def _headers(user=None) -> list[tuple[bytes, bytes]]:
    headers = [(b"origin", b"http://localhost")]
    if user is not None:
        client = Client()
        client.force_login(user)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return headers


async def _open(session_id, user=None) -> tuple[WebsocketCommunicator, dict]:
    socket = WebsocketCommunicator(application, f"/ws/live/{session_id}/", headers=_headers_cache[user])
    connected, _ = await socket.connect(timeout=10)
    assert connected
    first = json.loads(await socket.receive_from(timeout=10))
    return socket, first


_headers_cache: dict = {}


def _prepare(*users):
    for user in users:
        _headers_cache[user] = _headers(user)


async def _closed_with(socket) -> int:
    output = await socket.receive_output(timeout=10)
    assert output["type"] == "websocket.close"
    return output["code"]


async def _frames(socket, *, until=None, quiet: float = 1.5, limit: int = 40) -> list[dict]:
    """Frames the socket receives until one matches `until` (or it stays quiet for `quiet` seconds)."""
    frames = []
    while len(frames) < limit:
        # receive_nothing, not a receive timeout: a timeout would cancel the application under test
        if await socket.receive_nothing(timeout=quiet, interval=0.02):
            break
        frame = json.loads(await socket.receive_from(timeout=5))
        frames.append(frame)
        if until is not None and until(frame):
            break
    return frames


async def _ask(socket, message: dict) -> dict:
    """Sends a message and returns its answer (ok / error), skipping room frames in between."""
    ref = f"r{id(message)}"
    await socket.send_to(text_data=json.dumps({**message, "ref": ref}, ensure_ascii=False))
    frames = await _frames(socket, until=lambda f: f.get("ref") == ref, quiet=10)
    assert frames and frames[-1].get("ref") == ref, frames
    return frames[-1]


@pytest.mark.django_db(transaction=True)
def test_who_may_enter_and_the_close_code_that_says_why():
    session = make_live_session(state="live")
    unregistered = make_doctor()
    banned = registered_doctor(session)
    restricted = make_live_session(state="live")
    outsider = registered_doctor(restricted)
    EventPage.objects.filter(pk=restricted.event_id).update(audience_provinces=["西藏自治区"])
    moderator = make_staff("medical_reviewer")
    participant_ban(session=session, user=banned, actor=moderator, reason="广告")
    _prepare(None, unregistered, banned, outsider)
    other = make_live_session(state="live", registration_required=False)

    async def scenario():
        for user, session_id, code, close in [
            (None, session.pk, "not_signed_in", 4401),
            (unregistered, session.pk, "not_registered", 4406),
            (outsider, restricted.pk, "not_in_audience", 4403),
            (banned, session.pk, "banned", 4410),
            (unregistered, 999999, "live_session_not_found", 4404),
        ]:
            socket, first = await _open(session_id, user)
            assert (first["type"], first["code"]) == ("refused", code), (user, first)
            assert first["message"]
            assert await _closed_with(socket) == close
            # a refused socket's messages are ignored
        socket, first = await _open(other.pk, unregistered)  # no registration needed there
        assert first["type"] == "hello" and first["role"] == "viewer"
        await socket.disconnect()

    _run(scenario)


@pytest.mark.django_db(transaction=True)
def test_a_registered_doctor_chats_and_the_room_sees_it_once():
    session = make_live_session(state="live")
    doctor, other = registered_doctor(session), registered_doctor(session)
    _prepare(doctor, other)

    async def scenario():
        socket, hello = await _open(session.pk, doctor)
        assert hello == {"type": "hello", "role": "viewer", "mode": "live", "muted": False, "user_id": doctor.pk}
        listener, _ = await _open(session.pk, other)
        answer = await _ask(socket, {"type": "chat", "text": "请问剂量如何调整？"})
        assert answer["type"] == "ok" and answer["object_id"]
        frames = await _frames(listener, until=lambda f: f.get("type") == "chat", quiet=5)
        chat = [f for f in frames if f.get("type") == "chat"]
        assert len(chat) == 1 and chat[0]["message"]["text"] == "请问剂量如何调整？" and chat[0]["id"] > 0
        too_long = await _ask(socket, {"type": "chat", "text": "长" * 1000})
        assert too_long["type"] == "error" and too_long["code"] == "too_long"
        await socket.disconnect()
        await listener.disconnect()

    _run(scenario)


@pytest.mark.django_db(transaction=True)
def test_a_muted_doctor_watches_but_may_not_write():
    session = make_live_session(state="live")
    doctor = registered_doctor(session)
    participant_mute(session=session, user=doctor, actor=make_staff("medical_reviewer"))
    _prepare(doctor)

    async def scenario():
        socket, hello = await _open(session.pk, doctor)
        assert hello["muted"] is True
        answer = await _ask(socket, {"type": "chat", "text": "hello"})
        assert (answer["type"], answer["code"]) == ("error", "muted")
        await socket.disconnect()

    _run(scenario)


@pytest.mark.django_db(transaction=True)
def test_moderation_traffic_stays_with_moderators_until_approved():
    session = make_live_session(state="live")
    doctor, watcher = registered_doctor(session), registered_doctor(session)
    staff = make_staff("medical_reviewer")
    _prepare(doctor, watcher, staff)

    async def scenario():
        asker, _ = await _open(session.pk, doctor)
        audience, _ = await _open(session.pk, watcher)
        console, hello = await _open(session.pk, staff)
        assert hello["role"] == "moderator"
        answer = await _ask(asker, {"type": "question", "text": "二线治疗的证据？", "anonymous": True})
        question_id = answer["object_id"]
        queued = await _frames(console, until=lambda f: f.get("type") == "question", quiet=5)
        assert queued[-1]["question"]["id"] == question_id
        assert not [f for f in await _frames(audience, quiet=1.5) if f.get("type") == "question"]
        refused = await _ask(asker, {"type": "approve", "question_id": question_id})
        assert (refused["type"], refused["code"]) == ("error", "forbidden")
        approved = await _ask(console, {"type": "approve", "question_id": question_id})
        assert approved["type"] == "ok"
        seen = await _frames(audience, until=lambda f: f.get("type") == "question", quiet=5)
        assert seen[-1]["question"]["id"] == question_id
        assert seen[-1]["question"].get("author_id") is None  # asked anonymously
        vote = await _ask(audience, {"type": "vote", "question_id": question_id})
        assert vote["type"] == "ok"
        again = await _ask(audience, {"type": "vote", "question_id": question_id})
        assert (again["type"], again["code"]) == ("error", "already_voted")
        viewers = await _ask(console, {"type": "viewers"})
        assert {v["id"] for v in viewers["viewers"]} >= {doctor.pk, watcher.pk}
        not_for_doctors = await _ask(audience, {"type": "viewers"})
        assert not_for_doctors["code"] == "forbidden"
        for socket in (asker, audience, console):
            await socket.disconnect()

    _run(scenario)
    assert Question.objects.get(session=session).state == Question.State.APPROVED


@pytest.mark.django_db(transaction=True)
def test_a_second_socket_replaces_the_first():
    session = make_live_session(state="live")
    doctor = registered_doctor(session)
    _prepare(doctor)

    async def scenario():
        first, _ = await _open(session.pk, doctor)
        second, hello = await _open(session.pk, doctor)
        assert hello["type"] == "hello"
        frames = await _frames(first, until=lambda f: f.get("type") == "refused", quiet=5)
        assert frames[-1]["code"] == "replaced"
        assert await _closed_with(first) == 4409
        await asyncio.sleep(0.2)
        # the replaced socket's leaving does not take the user out of the room
        assert doctor.pk in await asyncio.to_thread(broadcast.present_user_ids, session.pk)
        assert (await _ask(second, {"type": "ping"}))["type"] == "pong"
        await second.disconnect()
        await asyncio.sleep(0.2)
        assert doctor.pk not in await asyncio.to_thread(broadcast.present_user_ids, session.pk)

    _run(scenario)


@pytest.mark.django_db(transaction=True)
def test_bad_messages_get_an_error_and_the_socket_survives():
    session = make_live_session(state="live")
    doctor = registered_doctor(session)
    _prepare(doctor)

    async def scenario():
        socket, _ = await _open(session.pk, doctor)
        for raw, code in [
            ("not json", "invalid_message"),
            ("[1, 2]", "invalid_message"),
            ('{"text": "no type"}', "invalid_message"),
            ("x" * 5000, "too_large"),
            ('{"type": "teleport"}', "unknown_message"),
        ]:
            await socket.send_to(text_data=raw)
            answer = json.loads(await socket.receive_from(timeout=5))
            assert (answer["type"], answer["code"]) == ("error", code), raw
        for message, code in [
            ({"type": "chat", "text": 42}, "invalid_message"),
            ({"type": "vote", "question_id": "abc"}, "question_not_found"),
            ({"type": "poll_vote", "poll_id": 1, "option_ids": "all"}, "poll_not_found"),
            ({"type": "reaction", "emoji": "🐍"}, None),
            ({"type": "heartbeat", "mode": "forever"}, "invalid_message"),
            ({"type": "ban", "user_id": doctor.pk}, "forbidden"),
        ]:
            answer = await _ask(socket, message)
            assert answer["type"] == "error", (message, answer)
            if code:
                assert answer["code"] == code, (message, answer)
        assert (await _ask(socket, {"type": "ping"}))["type"] == "pong"
        await socket.disconnect()

    _run(scenario)


@pytest.mark.django_db(transaction=True)
def test_a_ban_closes_the_banned_doctors_socket():
    session = make_live_session(state="live")
    doctor = registered_doctor(session)
    staff = make_staff("medical_reviewer")
    _prepare(doctor, staff)

    async def scenario():
        viewer, _ = await _open(session.pk, doctor)
        console, _ = await _open(session.pk, staff)
        answer = await _ask(console, {"type": "ban", "user_id": doctor.pk, "reason": "广告"})
        assert answer["type"] == "ok"
        frames = await _frames(viewer, until=lambda f: f.get("type") == "refused", quiet=5)
        assert frames[-1]["code"] == "banned"
        assert await _closed_with(viewer) == 4410
        await console.disconnect()

    _run(scenario)
    assert RoomSanction.objects.filter(session=session, user=doctor, kind="ban").exists()


@pytest.mark.django_db(transaction=True)
def test_reactions_and_the_viewer_count_arrive_coalesced():
    session = make_live_session(state="live")
    doctors = [registered_doctor(session) for _ in range(3)]
    _prepare(*doctors)

    async def scenario():
        sockets = [(await _open(session.pk, d))[0] for d in doctors]
        for socket in sockets:
            answer = await _ask(socket, {"type": "reaction", "emoji": "👏"})
            assert answer["type"] == "ok"
        frames = await _frames(sockets[0], quiet=2.5)
        tallies = [f for f in frames if f["type"] == "tally"]
        assert 1 <= len(tallies) <= 2
        assert sum(t.get("reaction", {}).get("👏", 0) for t in tallies) == 3
        assert [t["viewers"]["count"] for t in tallies if "viewers" in t][-1] == 3
        for socket in sockets:
            await socket.disconnect()

    _run(scenario)


def _stalling(app, gate: asyncio.Event):
    """The application behind a client whose connection stops taking data while `gate` is clear: a send waits, as
    an ASGI server's send waits while the transport's buffer is full."""
    async def wrapped(scope, receive, send):
        async def stalled_send(message):
            await gate.wait()
            await send(message)
        return await app(scope, receive, stalled_send)
    return wrapped


async def _open_stalling(session, doctor):
    """A doctor's socket behind `_stalling`, past its hello: (socket, its consumer, the gate, open)."""
    gate = asyncio.Event()
    gate.set()
    socket = WebsocketCommunicator(_stalling(application, gate), f"/ws/live/{session.pk}/",
                                   headers=_headers_cache[doctor])
    assert (await socket.connect(timeout=10))[0]
    assert json.loads(await socket.receive_from(timeout=10))["type"] == "hello"
    (consumer,) = consumers.room_hub().groups[broadcast.audience_group(session.pk)]
    return socket, consumer, gate


@pytest.fixture
def backlog_room(monkeypatch):
    """A live session with a registered doctor, and a send backlog of 4 frames per socket."""
    monkeypatch.setattr(consumers, "SEND_QUEUE_SIZE", 4)
    session = make_live_session(state="live")
    doctor = registered_doctor(session)
    _prepare(doctor)
    return session, doctor


async def _burst_while_stalled(session, doctor, frames: int):
    """Opens the doctor's socket, stops the client reading, enqueues `frames` chat frames, lets it read again."""
    socket, consumer, gate = await _open_stalling(session, doctor)
    gate.clear()
    for n in range(frames):
        consumer.enqueue(json.dumps({"id": n, "type": "chat"}))
    gate.set()
    return socket, consumer


@pytest.mark.django_db(transaction=True)
def test_a_socket_that_cannot_keep_up_is_dropped(backlog_room):
    session, doctor = backlog_room

    async def scenario():
        # a burst of ten arrives while the first frame is still waiting to go out
        socket, _consumer = await _burst_while_stalled(session, doctor, 10)
        frames = []
        while True:
            output = await socket.receive_output(timeout=5)
            if output["type"] == "websocket.close":
                break
            frames.append(output)
        assert output["code"] == 4429
        assert 1 <= len(frames) <= 5  # the frame in flight, at most the backlog; never all ten

    _run(scenario)


@pytest.mark.django_db(transaction=True)
def test_a_socket_that_keeps_up_gets_every_frame_in_order(backlog_room):
    session, doctor = backlog_room

    async def scenario():
        # the frame in flight and three behind it: within the backlog
        socket, consumer = await _burst_while_stalled(session, doctor, 4)
        received = [json.loads(await socket.receive_from(timeout=5))["id"] for _ in range(4)]
        assert received == [0, 1, 2, 3]
        for n in range(4, 30):  # a socket that takes every frame at once has no backlog at all
            consumer.enqueue(json.dumps({"id": n, "type": "chat"}))
        received = [json.loads(await socket.receive_from(timeout=5))["id"] for _ in range(4, 30)]
        assert received == list(range(4, 30))
        await socket.disconnect()

    _run(scenario)


@pytest.mark.django_db(transaction=True)
def test_the_embedded_default_runs_the_room_without_redis(settings):
    settings.REDIS_URL = None
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    session = make_live_session(state="live")
    doctor, other = registered_doctor(session), registered_doctor(session)
    _prepare(doctor, other)

    async def scenario():
        socket, _ = await _open(session.pk, doctor)
        listener, _ = await _open(session.pk, other)
        assert (await _ask(socket, {"type": "chat", "text": "本地演示"}))["type"] == "ok"
        frames = await _frames(listener, until=lambda f: f.get("type") == "chat", quiet=5)
        assert frames[-1]["message"]["text"] == "本地演示" and frames[-1]["id"] > 0
        replacement, _ = await _open(session.pk, doctor)
        replaced = await _frames(socket, until=lambda f: f.get("type") == "refused", quiet=5)
        assert replaced[-1]["code"] == "replaced"
        assert await _closed_with(socket) == 4409
        await replacement.disconnect()
        await listener.disconnect()

    _run(scenario)
