"""Objects and fixtures the live-core tests share (not a test module): a webinar with its live session, a
registered doctor, moderators, and a listener on the room's real channel-layer groups."""

import asyncio
import json
import random
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.utils import timezone

from events.live import broadcast
from events.live.models import LiveSession
from events.live.services import LiveSessionInput, live_session_save, live_state_set
from members.points.models import PointsRule
from tests.events.factories import make_event, make_registration, make_staff
from tests.factories import make_doctor


def make_live_session(*, state: str = "scheduled", starts_in=timedelta(days=2), **fields) -> LiveSession:
    event = make_event(event_type="webinar", starts_at=timezone.now() + starts_in)
    staff = make_staff("marketing")
    data = LiveSessionInput(provider=fields.pop("provider", "plain"),
                            plain_url=fields.pop("plain_url", "/static/live/demo/index.m3u8"), **fields)
    session = live_session_save(event=event, data=data, actor=staff, now=timezone.now() - timedelta(days=30))
    if state in ("live", "ended"):
        session = live_state_set(session=session, state="live", actor=staff)
    if state == "ended":
        session = live_state_set(session=session, state="ended", actor=staff)
    return LiveSession.objects.select_related("event").get(pk=session.pk)


def registered_doctor(session: LiveSession, **kwargs):
    doctor = make_doctor(**kwargs)
    make_registration(session.event, doctor)
    return doctor


def live_rule(points: int = 30) -> PointsRule:
    rule, _ = PointsRule.objects.update_or_create(code="attend_live", defaults={
        "name": "参加线上直播", "points": points, "daily_cap": None, "yearly_cap": None, "enabled": True,
        "active_from": None, "active_until": None})
    return rule


@pytest.fixture
def session(db):
    return make_live_session(state="live")


@pytest.fixture
def viewer(session):
    return registered_doctor(session)


@pytest.fixture
def moderator(db):
    return make_staff("medical_reviewer")


def room_frames(session_id: int, action, *, quiet: float = 0.8) -> tuple[list[dict], list[dict], object]:
    """Runs `action()` (sync) while listening on the room's audience and moderator groups of the real channel
    layer; returns (audience frames, moderator frames, what action returned). Needs django_db(transaction=True):
    events leave after commit."""
    broadcast.reset_redis()

    async def scenario():
        layer = get_channel_layer()
        audience, moderators = await layer.new_channel(), await layer.new_channel()
        await layer.group_add(broadcast.audience_group(session_id), audience)
        await layer.group_add(broadcast.moderator_group(session_id), moderators)
        result = await sync_to_async(action)()
        return await _drain(layer, audience, quiet), await _drain(layer, moderators, quiet), result

    return async_to_sync(scenario)()


async def _drain(layer, channel, quiet: float) -> list[dict]:
    frames = []
    while len(frames) < 100:
        try:
            message = await asyncio.wait_for(layer.receive(channel), quiet)
        except TimeoutError:
            break
        frames.append(json.loads(message["text"]))
    return frames


def unique_stream() -> str:
    return f"s{random.randint(10**8, 10**9)}"
