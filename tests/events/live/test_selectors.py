"""Who may enter a room and as what (every role and state), and what the snapshot shows to whom."""

import pytest

from engage.core.errors import DomainError, NotFound
from events.live import services
from events.live.selectors import access_live_session, attendance_report, room_entry, room_snapshot
from tests.events.factories import make_event, make_registration, make_rep, make_staff
from tests.events.live.core_helpers import make_live_session, registered_doctor
from tests.factories import make_doctor

pytestmark = pytest.mark.django_db


def entry_code(user, session) -> str:
    with pytest.raises(DomainError) as info:
        room_entry(user=user, session=session)
    return info.value.code


def test_room_entry_for_every_kind_of_person(session, viewer):
    from django.contrib.auth.models import AnonymousUser

    assert entry_code(AnonymousUser(), session) == "not_signed_in"
    assert entry_code(make_doctor(verified=False), session) == "not_in_audience"
    assert entry_code(make_doctor(), session) == "not_registered"
    pending = make_doctor()
    make_registration(session.event, pending, status="pending_approval")
    assert entry_code(pending, session) == "not_registered"
    assert entry_code(make_rep(), session) in ("not_in_audience", "not_registered")
    assert room_entry(user=viewer, session=session).role == "viewer"
    for role in ("marketing", "medical_reviewer", "admin"):
        assert room_entry(user=make_staff(role), session=session).role == "moderator"
    moderator = make_staff("medical_reviewer")
    services.participant_mute(session=session, user=viewer, actor=moderator)
    assert room_entry(user=viewer, session=session).muted is True
    services.participant_ban(session=session, user=viewer, actor=moderator)
    assert entry_code(viewer, session) == "banned"


def test_sessions_without_registration_admit_the_audience():
    session = make_live_session(state="live", registration_required=False)
    assert room_entry(user=make_doctor(), session=session).mode == "live"
    assert entry_code(make_doctor(verified=False), session) == "not_in_audience"


def test_modes_follow_the_state():
    session = make_live_session()
    doctor = registered_doctor(session)
    assert room_entry(user=doctor, session=session).mode == "waiting"
    staff = make_staff("marketing")
    services.live_state_set(session=session, state="ended", actor=staff)
    session.refresh_from_db()
    assert entry_code(doctor, session) == "ended"
    assert room_entry(user=staff, session=session).moderator
    services.replay_store(session=session, url="https://vod.example.com/r.m3u8", actor=staff)
    session.refresh_from_db()
    assert room_entry(user=doctor, session=session).mode == "replay"


def test_access_live_session_hides_drafts_from_doctors(viewer):
    event = make_event(publish=False, event_type="webinar")
    from events.live.models import LiveSession

    draft = LiveSession.objects.create(event=event, provider="plain", plain_url="/x.m3u8", stream_name="draft-1")
    with pytest.raises(NotFound):
        access_live_session(user=viewer, live_session_id=draft.pk)
    with pytest.raises(NotFound):
        access_live_session(user=viewer, live_session_id="abc")
    assert access_live_session(user=make_staff("marketing"), live_session_id=draft.pk) == draft


def test_snapshot_shows_the_queue_and_deleted_messages_to_moderators_only(session, viewer, moderator):
    services.chat_post(session=session, author=viewer, text="one")
    deleted = services.chat_post(session=session, author=moderator, text="two")
    services.chat_delete(message=deleted, actor=moderator)
    services.question_ask(session=session, author=viewer, text="pending?")
    poll = services.poll_create(session=session, actor=moderator, question="Q", options=["A", "B"])
    audience = room_snapshot(session=session, user=viewer)
    assert [m["text"] for m in audience["messages"]] == ["one"]
    assert audience["questions"] == [] and "queue" not in audience and audience["polls"] == []
    assert "author_id" not in audience["messages"][0]
    staff = room_snapshot(session=session, user=moderator)
    assert [m["text"] for m in staff["messages"]] == ["one", "two"] and staff["messages"][1]["deleted"]
    assert [q["text"] for q in staff["queue"]] == ["pending?"]
    assert [p["id"] for p in staff["polls"]] == [poll.pk] and "votes" in staff["polls"][0]["options"][0]
    services.poll_open(poll=poll, actor=moderator)
    audience = room_snapshot(session=session, user=viewer)
    assert [p["state"] for p in audience["polls"]] == ["open"] and "votes" not in audience["polls"][0]["options"][0]


def test_snapshot_keeps_the_last_50_messages(session, viewer, moderator):
    for i in range(55):
        services.chat_post(session=session, author=moderator, text=f"m{i}")
    messages = room_snapshot(session=session, user=viewer)["messages"]
    assert len(messages) == 50 and messages[0]["text"] == "m5" and messages[-1]["text"] == "m54"


def test_attendance_report_rows(session, viewer, moderator):
    services.heartbeat_record(session=session, viewer=viewer)
    services.question_ask(session=session, author=viewer, text="Q?")
    poll = services.poll_create(session=session, actor=moderator, question="Q", options=["A", "B"])
    services.poll_open(poll=poll, actor=moderator)
    services.poll_vote(poll=poll, user=viewer, option_ids=[poll.options.first().pk])
    (row,) = attendance_report(session=session)
    assert (row.doctor_id, row.live_minutes, row.replay_minutes, row.questions_asked, row.polls_answered) == \
        (viewer.pk, 1, 0, 1, 1)
    assert row.hospital and row.name


def test_the_room_names_doctors_by_their_verified_profile_masked_for_the_audience(session, viewer, moderator):
    profile = viewer.doctor_profile
    profile.real_name = "张三丰"
    profile.save(update_fields=["real_name"])
    viewer.display_name = "糖友小张"  # the self-chosen account name never shows in the room
    viewer.save(update_fields=["display_name"])
    services.chat_post(session=session, author=viewer, text="请问剂量？")
    services.question_ask(session=session, author=viewer, text="可以联用吗？", anonymous=False)
    hospital = profile.hospital.name
    audience = room_snapshot(session=session, user=viewer)
    assert audience["messages"][0]["author"] == f"张** · {hospital}"
    staff = room_snapshot(session=session, user=moderator)
    assert staff["messages"][0]["author"] == f"张三丰 · {hospital}"
    assert staff["queue"][0]["author"] == f"张三丰 · {hospital}"
