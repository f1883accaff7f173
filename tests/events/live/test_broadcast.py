"""The room's outbound side against the real Redis pub/sub channel layer: events with increasing ids, serialised
once and sent to the right groups after commit; tallies coalesced to about one message a second; outages degrade."""

import asyncio
import json
import random
import socket

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from events.live import broadcast
from events.live.broadcast import (
    Flusher,
    audience_group,
    coalesce,
    last_event_id,
    moderator_group,
    next_event_id,
    publish_event,
    tally_messages,
)


def _run(scenario):
    async_to_sync(scenario)()


def _room() -> int:
    return random.randint(10**8, 10**9)


@pytest.fixture(autouse=True)
def _fresh_redis_state():
    broadcast.reset_redis()
    yield
    broadcast.reset_redis()


async def _listen(*groups):
    layer = get_channel_layer()
    channel = await layer.new_channel()
    for group in groups:
        await layer.group_add(group, channel)
    return layer, channel


async def _drain(layer, channel, *, quiet: float = 0.6, limit: int = 50) -> list[dict]:
    """Every frame that arrives until the channel has been quiet for `quiet` seconds."""
    frames = []
    while len(frames) < limit:
        try:
            message = await asyncio.wait_for(layer.receive(channel), quiet)
        except TimeoutError:
            break
        assert message["type"] == broadcast.FRAME_TYPE
        frames.append(json.loads(message["text"]))
    return frames


def test_event_ids_increase_and_the_snapshot_knows_the_last():
    room = _room()
    first = next_event_id(room)
    second = next_event_id(room)
    assert second == first + 1
    assert last_event_id(room) == second
    assert last_event_id(_room()) == 0


def test_a_reset_counter_starts_above_every_id_issued_before():
    room = _room()
    before = next_event_id(room)
    broadcast.redis_client().delete(f"engage:live:{room}:event_id")  # Redis lost its data
    assert next_event_id(room) > before


@pytest.mark.django_db(transaction=True)
def test_an_event_reaches_moderators_and_audience_once_each_with_one_serialisation():
    room = _room()

    async def scenario():
        layer, audience = await _listen(audience_group(room))
        _, moderators = await _listen(moderator_group(room))
        await sync_to_async(publish_event)(session_id=room, event={"type": "chat", "message": {"text": "你好"}})
        seen_by_audience = await _drain(layer, audience)
        seen_by_moderators = await _drain(layer, moderators)
        assert seen_by_audience == seen_by_moderators
        assert len(seen_by_audience) == 1
        frame = seen_by_audience[0]
        assert frame["type"] == "chat" and frame["message"]["text"] == "你好" and frame["id"] > 0

    _run(scenario)


@pytest.mark.django_db(transaction=True)
def test_moderation_traffic_never_reaches_the_audience():
    room = _room()

    async def scenario():
        layer, audience = await _listen(audience_group(room))
        _, moderators = await _listen(moderator_group(room))
        await sync_to_async(publish_event)(session_id=room, event={"type": "question.queued", "question": {"id": 1}},
                                           audience=False)
        await sync_to_async(publish_event)(session_id=room, event={"type": "chat", "message": {"id": 2}})
        audience_frames = await _drain(layer, audience)
        moderator_frames = await _drain(layer, moderators)
        assert [f["type"] for f in audience_frames] == ["chat"]
        assert [f["type"] for f in moderator_frames] == ["question.queued", "chat"]
        assert moderator_frames[1]["id"] == moderator_frames[0]["id"] + 1  # one sequence per session

    _run(scenario)


@pytest.mark.django_db(transaction=True)
def test_events_wait_for_the_commit_and_vanish_with_a_rollback():
    room = _room()

    def publish(rollback: bool):
        try:
            with transaction.atomic():
                publish_event(session_id=room, event={"type": "chat", "message": {"rolled_back": rollback}})
                if rollback:
                    raise RuntimeError("rolled back")
        except RuntimeError:
            return

    async def scenario():
        layer, audience = await _listen(audience_group(room))
        await sync_to_async(publish)(True)
        await sync_to_async(publish)(False)
        frames = await _drain(layer, audience)
        assert [f["message"]["rolled_back"] for f in frames] == [False]

    _run(scenario)


def test_an_event_needs_a_type():
    with pytest.raises(ValueError):
        publish_event(session_id=1, event={"message": "no type"})
    with pytest.raises(ValueError):
        publish_event(session_id=1, event="chat")


def test_a_tally_needs_a_number():
    with pytest.raises(ValueError):
        coalesce(session_id=1, kind="reaction", key="👍", delta="many")
    with pytest.raises(ValueError):
        coalesce(session_id=1, kind="", key="x")


@pytest.mark.django_db(transaction=True)
def test_a_hundred_reactions_become_at_most_two_broadcasts():
    room = _room()

    async def scenario():
        layer, audience = await _listen(audience_group(room))
        flusher = Flusher()
        flusher.join(room, "socket-of-user-7", 7)
        for _ in range(100):
            await sync_to_async(coalesce)(session_id=room, kind="reaction", key="👍")
        frames = await _drain(layer, audience, quiet=2.5)
        flusher.leave(room, "socket-of-user-7")
        tallies = [f for f in frames if f["type"] == "tally" and "reaction" in f]
        assert 1 <= len(tallies) <= 2
        assert sum(t["reaction"]["👍"] for t in tallies) == 100
        assert all("id" not in t for t in tallies)  # tallies are not ordered events
        assert any(f.get("viewers", {}).get("count") == 1 for f in frames)  # the joined socket counts as a viewer
        flusher.task.cancel()

    _run(scenario)


def test_two_processes_share_one_flush_slot_per_interval():
    room = _room()
    coalesce(session_id=room, kind="reaction", key="👏", delta=3)
    first = tally_messages(room)
    coalesce(session_id=room, kind="reaction", key="👏", delta=1)
    second = tally_messages(room)  # the other process, within the same interval
    assert len(first) == 2  # one per group
    assert second == []
    # the pending click was not lost: the next interval's holder takes it
    broadcast.redis_client().delete(f"engage:live:{room}:flush")
    third = tally_messages(room)
    assert json.loads(third[0][1]["text"])["reaction"] == {"👏": 1}


def test_moderator_only_tallies_and_absolute_values():
    room = _room()
    coalesce(session_id=room, kind="poll", key="5:1", value=4, audience=False)
    coalesce(session_id=room, kind="question", key="9", value=2)
    coalesce(session_id=room, kind="question", key="9", value=3)  # a score is set, the latest wins
    messages = dict(tally_messages(room))
    moderators = json.loads(messages[moderator_group(room)]["text"])
    audience = json.loads(messages[audience_group(room)]["text"])
    assert moderators["poll"] == {"5:1": 4} and moderators["question"] == {"9": 3}
    assert "poll" not in audience and audience["question"] == {"9": 3}


@pytest.mark.django_db(transaction=True)
def test_votes_inside_a_rolled_back_transaction_leave_no_tally():
    room = _room()
    try:
        with transaction.atomic():
            coalesce(session_id=room, kind="question", key="1", value=5)
            raise RuntimeError("rolled back")
    except RuntimeError:
        coalesce(session_id=room, kind="question", key="2", value=1)
    payload = json.loads(tally_messages(room)[0][1]["text"])
    assert payload["question"] == {"2": 1}


@pytest.fixture
def dead_redis(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    broadcast.reset_redis()
    yield


@pytest.mark.django_db(transaction=True)
def test_a_redis_outage_degrades_to_resync_instead_of_breaking(dead_redis):
    room = _room()
    assert next_event_id(room) is None
    assert last_event_id(room) == 0
    coalesce(session_id=room, kind="reaction", key="❤️")  # lost, not raised
    assert tally_messages(room) == []

    async def scenario():
        # the channel layer still works in this test: the page receives an event without id and re-snapshots
        layer, audience = await _listen(audience_group(room))
        await sync_to_async(publish_event)(session_id=room, event={"type": "state", "state": "live"})
        frames = await _drain(layer, audience)
        assert frames == [{"id": None, "type": "state", "state": "live"}]

    _run(scenario)


@pytest.mark.django_db(transaction=True)
def test_embedded_default_without_redis(settings):
    settings.REDIS_URL = None
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    room = _room()
    first = next_event_id(room)
    assert last_event_id(room) == first
    assert next_event_id(room) == first + 1
    broadcast.presence_touch(room, [3, 4])
    for _ in range(100):
        coalesce(session_id=room, kind="reaction", key="👍")

    async def scenario():
        layer, audience = await _listen(audience_group(room))
        messages = await sync_to_async(tally_messages)(room)
        assert await sync_to_async(tally_messages)(room) == []  # at most one per interval
        for group, message in messages:
            await layer.group_send(group, message)
        frames = await _drain(layer, audience)
        assert frames == [{"type": "tally", "reaction": {"👍": 100}, "viewers": {"count": 2}}]
        assert broadcast.present_user_ids(room) == [3, 4]
        broadcast.presence_leave(room, 3)
        assert broadcast.viewer_count(room) == 1

    _run(scenario)
