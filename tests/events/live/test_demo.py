"""The demo live session (`make run`): the demo webinar is live on the committed HLS clip, with chat, approved
questions, one in the queue and an open poll with votes, all through the services; idempotent."""

import pytest
from django.contrib.staticfiles import finders
from django.utils import timezone

from events.live.demo import seed_demo_live_session
from events.live.models import ChatMessage, LiveSession, Poll, PollVote, Question
from events.live.selectors import room_entry, room_snapshot
from events.pages.demo import seed_demo_events
from members.accounts.models import User
from members.profiles.models import DoctorProfile
from tests.factories import DoctorProfileFactory, user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_meetings():
    user_with_role("marketing", username="demo-marketing")
    for n in (1, 2):
        user_with_role("rep", username=f"demo-rep-{n:02d}")
    for n in range(1, 40):
        doctor = user_with_role("doctor", username=f"demo-doctor-{n:03d}")
        DoctorProfileFactory(user=doctor, status=DoctorProfile.Status.VERIFIED, verified_at=timezone.now())
    seed_demo_events()


def test_the_demo_webinar_is_live_on_the_committed_clip(demo_meetings):
    created = seed_demo_live_session()
    assert created == {"live sessions": 1, "live chat messages": 4, "live questions": 3, "live polls": 1}
    session = LiveSession.objects.get(event__slug="demo-webinar-cgm")
    assert session.state == LiveSession.State.LIVE and session.provider == "plain"
    assert session.plain_url.endswith("live/demo/index.m3u8")
    assert finders.find("live/demo/index.m3u8") and finders.find("live/demo/seg05.ts")
    assert ChatMessage.objects.filter(session=session).count() == 4
    assert Question.objects.filter(session=session, state="approved").count() == 2
    assert Question.objects.filter(session=session, state="pending").count() == 1
    poll = Poll.objects.get(session=session)
    assert poll.state == "open" and PollVote.objects.filter(poll=poll).count() == 5
    doctor = User.objects.get(username="demo-doctor-001")  # the documented demo log-in enters the room
    snapshot = room_snapshot(session=session, user=doctor, entry=room_entry(user=doctor, session=session))
    assert snapshot["play"]["kind"] == "live" and "index.m3u8" in snapshot["play"]["url"]
    assert seed_demo_live_session() == {"live sessions": 0, "live chat messages": 0, "live questions": 0,
                                        "live polls": 0}
