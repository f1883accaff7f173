"""Live-session services: state, chat limits and moderation, sanctions, Q&A, polls, reactions, heartbeats with
frozen time, attention prompts, the credit rule paying once, and the adverse-event detector on chat and Q&A."""

from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

from engage.audit.models import AuditEntry
from engage.core.errors import DomainError
from engage.reminders.models import PharmacovigilanceCase
from engage.reminders.services import pv_terms_seed_defaults
from events.live import services
from events.live.models import Attendance, ChatMessage, LiveSession, Poll, PollVote, Question, RoomSanction
from events.live.services import LiveSessionInput
from members.engagement.models import EngagementEvent
from members.points.models import PointsTransaction
from tests.events.factories import make_staff
from tests.events.live.core_helpers import live_rule, make_live_session, registered_doctor, room_frames
from tests.factories import make_doctor

pytestmark = pytest.mark.django_db


def code_of(fn, **kwargs) -> str:
    with pytest.raises(DomainError) as info:
        fn(**kwargs)
    return info.value.code


# --- session and state ------------------------------------------------------------------------------------------

def test_state_moves_scheduled_live_ended_and_is_audited():
    session = make_live_session()
    staff = make_staff("marketing")
    session = services.live_state_set(session=session, state="live", actor=staff)
    assert session.state == "live" and session.started_at is not None
    again = services.live_state_set(session=session, state="live", actor=staff)
    assert again.started_at == session.started_at
    session = services.live_state_set(session=session, state="ended", actor=staff)
    assert session.state == "ended" and session.ended_at is not None
    assert code_of(services.live_state_set, session=session, state="scheduled", actor=staff) == "invalid_transition"
    assert AuditEntry.objects.filter(action="events.live_state_set").count() == 2


def test_state_needs_a_moderator_or_manager(viewer, session):
    assert code_of(services.live_state_set, session=session, state="ended", actor=viewer) == "forbidden"
    assert LiveSession.objects.get(pk=session.pk).state == "live"


def test_credit_rule_locks_15_minutes_before_start():
    session = make_live_session(starts_in=timedelta(minutes=20), credit_min_live_minutes=30)
    staff = make_staff("marketing")
    ok = services.live_session_save(event=session.event, actor=staff,
                                    data=LiveSessionInput(provider="plain", plain_url="/x.m3u8",
                                                          credit_min_live_minutes=40))
    assert ok.credit_min_live_minutes == 40
    with time_machine.travel(timezone.now() + timedelta(minutes=6), tick=False):
        code = code_of(services.live_session_save, event=session.event, actor=staff,
                       data=LiveSessionInput(provider="plain", plain_url="/x.m3u8", credit_min_live_minutes=10))
        assert code == "rule_locked"
        # other settings still change
        same_rule = services.live_session_save(event=session.event, actor=staff, data=LiveSessionInput(
            provider="plain", plain_url="/y.m3u8", credit_min_live_minutes=40, questions_moderated=False))
        assert same_rule.plain_url == "/y.m3u8"
    assert LiveSession.objects.get(pk=session.pk).credit_min_live_minutes == 40


def test_session_save_refuses_bad_input():
    session = make_live_session()
    staff = make_staff("marketing")
    doctor = make_doctor()
    for data, code in [(LiveSessionInput(provider="youtube"), "invalid_provider"),
                       (LiveSessionInput(provider="plain", plain_url=""), "plain_url_required"),
                       (LiveSessionInput(provider="plain", plain_url="/x", credit_min_share=101), "invalid_rule"),
                       (LiveSessionInput(provider="plain", plain_url="/x", credit_min_live_minutes=0),
                        "invalid_rule")]:
        assert code_of(services.live_session_save, event=session.event, actor=staff, data=data) == code
    assert code_of(services.live_session_save, event=session.event, actor=doctor,
                   data=LiveSessionInput(provider="plain", plain_url="/x")) == "forbidden"


# --- chat -------------------------------------------------------------------------------------------------------

def test_chat_post_and_limits(session, viewer, settings):
    message = services.chat_post(session=session, author=viewer, text="  讲得很好  ")
    assert message.text == "讲得很好"
    assert code_of(services.chat_post, session=session, author=viewer, text="再来一条") == "rate_limited"
    cache.clear()
    assert code_of(services.chat_post, session=session, author=viewer, text="   ") == "empty"
    assert code_of(services.chat_post, session=session, author=viewer, text="长" * 501) == "too_long"
    assert code_of(services.chat_post, session=session, author=viewer, text=None) == "invalid_text"
    assert ChatMessage.objects.filter(session=session).count() == 1


def test_chat_banned_words(session, viewer):
    from events.live.models import BannedWord

    BannedWord.objects.create(word="微信号")
    assert code_of(services.chat_post, session=session, author=viewer, text="加我 微 信 号 聊") == "banned_word"
    assert not ChatMessage.objects.exists()


def test_muted_and_banned_cannot_write(session, viewer, moderator):
    services.participant_mute(session=session, user=viewer, actor=moderator, reason="spam")
    services.participant_mute(session=session, user=viewer, actor=moderator)  # twice: the same sanction
    assert RoomSanction.objects.filter(user=viewer, lifted_at__isnull=True).count() == 1
    assert code_of(services.chat_post, session=session, author=viewer, text="hi") == "muted"
    assert code_of(services.question_ask, session=session, author=viewer, text="hi?") == "muted"
    services.participant_unmute(session=session, user=viewer, actor=moderator)
    services.chat_post(session=session, author=viewer, text="hi")
    services.participant_ban(session=session, user=viewer, actor=moderator)
    cache.clear()
    assert code_of(services.chat_post, session=session, author=viewer, text="hi again") == "banned"


def test_only_moderators_sanction_and_never_each_other(session, viewer, moderator):
    other = registered_doctor(session)
    assert code_of(services.participant_mute, session=session, user=other, actor=viewer) == "forbidden"
    assert code_of(services.participant_ban, session=session, user=make_staff("marketing"),
                   actor=moderator) == "cannot_sanction_moderator"


def test_chat_delete_keeps_the_row(session, viewer, moderator):
    message = services.chat_post(session=session, author=viewer, text="广告")
    assert code_of(services.chat_delete, message=message, actor=viewer) == "forbidden"
    services.chat_delete(message=message, actor=moderator)
    row = ChatMessage.objects.get(pk=message.pk)
    assert row.deleted_at is not None and row.deleted_by == moderator and row.text == "广告"
    assert AuditEntry.objects.filter(action="events.live_chat_delete").count() == 1


def test_outsiders_cannot_chat(session):
    unregistered = make_doctor()
    assert code_of(services.chat_post, session=session, author=unregistered, text="hi") == "not_registered"


def test_chat_after_the_end_is_refused(viewer, session, moderator):
    services.live_state_set(session=session, state="ended", actor=moderator)
    session.refresh_from_db()
    assert code_of(services.chat_post, session=session, author=viewer, text="hi") in ("session_ended", "ended")


# --- adverse events ---------------------------------------------------------------------------------------------

def test_chat_about_a_side_effect_opens_a_pv_case(session, viewer):
    pv_terms_seed_defaults()
    message = services.chat_post(session=session, author=viewer, text="我的病人用药后出现了皮疹，怎么处理？")
    case = PharmacovigilanceCase.objects.get()
    assert message.pv_case_id == case.pk
    assert case.doctor == viewer and case.patient is None and case.reporter == "doctor"
    assert case.text == message.text and "皮疹" in case.matched_keywords
    assert str(session.pk) in case.context and case.source == "live_chat"


def test_question_about_a_side_effect_opens_a_pv_case(session, viewer):
    pv_terms_seed_defaults()
    question = services.question_ask(session=session, author=viewer, text="Patient reported dizziness, normal?")
    assert question.pv_case.doctor == viewer and question.pv_case.source == "live_question"


def test_ordinary_chat_opens_no_case(session, viewer):
    pv_terms_seed_defaults()
    services.chat_post(session=session, author=viewer, text="老师讲得很清楚")
    assert not PharmacovigilanceCase.objects.exists()


# --- questions --------------------------------------------------------------------------------------------------

def test_questions_are_queued_then_approved_pinned_answered(session, viewer, moderator):
    question = services.question_ask(session=session, author=viewer, text="剂量如何调整？", anonymous=True)
    assert question.state == "pending" and question.author == viewer and question.anonymous
    assert code_of(services.question_vote, question=question, user=viewer) == "not_visible"
    assert code_of(services.question_moderate, question=question, actor=moderator, action="pin") == "not_visible"
    assert code_of(services.question_moderate, question=question, actor=viewer, action="approve") == "forbidden"
    services.question_moderate(question=question, actor=moderator, action="approve")
    services.question_moderate(question=question, actor=moderator, action="pin")
    question = services.question_moderate(question=question, actor=moderator, action="answered")
    assert (question.state, question.pinned) == ("answered", True)
    assert code_of(services.question_moderate, question=question, actor=moderator, action="delete") == \
        "invalid_action"


def test_unmoderated_session_shows_questions_at_once(viewer, moderator):
    session = make_live_session(state="live", questions_moderated=False)
    doctor = registered_doctor(session)
    assert services.question_ask(session=session, author=doctor, text="Q?").state == "approved"


def test_one_vote_per_question(session, viewer, moderator):
    question = services.question_ask(session=session, author=viewer, text="Q?")
    services.question_moderate(question=question, actor=moderator, action="approve")
    other = registered_doctor(session)
    services.question_vote(question=question, user=other)
    assert code_of(services.question_vote, question=question, user=other) == "already_voted"
    services.question_vote(question=question, user=viewer)
    assert Question.objects.get(pk=question.pk).score == 2


# --- polls ------------------------------------------------------------------------------------------------------

def test_poll_lifecycle_and_single_vote(session, viewer, moderator):
    poll = services.poll_create(session=session, actor=moderator, question="首选方案？", options=["A", "B", "C"])
    options = list(poll.options.values_list("pk", flat=True))
    assert code_of(services.poll_vote, poll=poll, user=viewer, option_ids=[options[0]]) == "poll_not_open"
    services.poll_open(poll=poll, actor=moderator)
    assert code_of(services.poll_vote, poll=poll, user=viewer, option_ids=options[:2]) == "bad_options"
    assert code_of(services.poll_vote, poll=poll, user=viewer, option_ids=[999999]) == "bad_options"
    assert code_of(services.poll_vote, poll=poll, user=viewer, option_ids=["1"]) == "bad_options"
    services.poll_vote(poll=poll, user=viewer, option_ids=[options[1]])
    assert code_of(services.poll_vote, poll=poll, user=viewer, option_ids=[options[0]]) == "already_voted"
    assert not Poll.objects.get(pk=poll.pk).results_visible_to_audience
    poll = services.poll_close(poll=poll, actor=moderator)
    assert poll.results_visible_to_audience
    assert code_of(services.poll_open, poll=poll, actor=moderator) == "invalid_transition"


def test_multiple_choice_is_one_vote_with_several_choices(session, viewer, moderator):
    poll = services.poll_create(session=session, actor=moderator, question="Which?", options=["A", "B", "C"],
                                kind="multiple")
    services.poll_open(poll=poll, actor=moderator)
    options = list(poll.options.values_list("pk", flat=True))
    vote = services.poll_vote(poll=poll, user=viewer, option_ids=options[:2])
    assert PollVote.objects.filter(poll=poll).count() == 1 and vote.choices.count() == 2
    assert code_of(services.poll_vote, poll=poll, user=registered_doctor(session),
                   option_ids=[options[0], options[0]]) == "bad_options"


def test_poll_create_refuses_bad_input(session, moderator, viewer):
    for kwargs, code in [({"question": "", "options": ["A", "B"]}, "invalid_question"),
                         ({"question": "Q", "options": ["A"]}, "invalid_options"),
                         ({"question": "Q", "options": ["A", "A"]}, "invalid_options"),
                         ({"question": "Q", "options": [str(i) for i in range(11)]}, "invalid_options"),
                         ({"question": "Q", "options": "AB"}, "invalid_options"),
                         ({"question": "Q", "options": ["A", "B"], "kind": "ranked"}, "invalid_kind")]:
        assert code_of(services.poll_create, session=session, actor=moderator, **kwargs) == code
    assert code_of(services.poll_create, session=session, actor=viewer, question="Q", options=["A", "B"]) == \
        "forbidden"
    assert not Poll.objects.exists()


def test_reactions_are_debounced_per_person(session, viewer):
    assert services.reaction_send(session=session, user=viewer, emoji="👍") is True
    assert services.reaction_send(session=session, user=viewer, emoji="👍") is False
    assert code_of(services.reaction_send, session=session, user=viewer, emoji="💩") == "bad_reaction"


# --- heartbeats, prompts and credit -----------------------------------------------------------------------------

def test_heartbeats_count_each_minute_once(session, viewer):
    start = session.started_at
    for seconds in (0, 30, 45, 60, 90, 150, 150):
        result = services.heartbeat_record(session=session, viewer=viewer, now=start + timedelta(seconds=seconds))
    assert result["live_minutes"] == 3  # minutes 0, 1 and 2
    row = Attendance.objects.get(session=session, viewer=viewer)
    assert row.joined_at == start and row.replay_minutes == 0
    assert EngagementEvent.objects.filter(doctor=viewer, kind="live_watched").count() == 1


def test_replay_minutes_count_apart_from_live(viewer, moderator):
    session = make_live_session(state="live")
    doctor = registered_doctor(session)
    services.heartbeat_record(session=session, viewer=doctor)
    services.live_state_set(session=session, state="ended", actor=moderator)
    services.replay_store(session=session, url="https://vod.example.com/a/b/replay.m3u8", actor=make_staff())
    session.refresh_from_db()
    for position in (0, 30, 61, 61, 125):
        result = services.heartbeat_record(session=session, viewer=doctor, mode="replay", position=position)
    assert (result["live_minutes"], result["replay_minutes"]) == (1, 3)
    assert code_of(services.heartbeat_record, session=session, viewer=doctor, mode="live") == "not_live"
    for bad in (None, -1, 10**9, "12", True):
        assert code_of(services.heartbeat_record, session=session, viewer=doctor, mode="replay",
                       position=bad) == "invalid_position"
    assert code_of(services.heartbeat_record, session=session, viewer=doctor, mode="vr") == "invalid_mode"


def test_moderators_heartbeats_count_nothing(session, moderator):
    assert services.heartbeat_record(session=session, viewer=moderator)["live_minutes"] == 0
    assert not Attendance.objects.exists()


def test_credit_is_paid_once_when_the_rule_is_met():
    live_rule(points=30)
    session = make_live_session(state="live", credit_min_live_minutes=3)
    doctor = registered_doctor(session)
    start = session.started_at
    for minute in range(6):
        result = services.heartbeat_record(session=session, viewer=doctor, now=start + timedelta(minutes=minute))
        assert result["credited"] == (minute >= 2)
    assert PointsTransaction.objects.filter(account__user=doctor, rule__code="attend_live").count() == 1
    assert PointsTransaction.objects.get(account__user=doctor, rule__code="attend_live").amount == 30
    assert EngagementEvent.objects.filter(doctor=doctor, kind="meeting_attended").count() == 1


def test_share_rule_and_replay_credit():
    live_rule()
    # a 3-hour meeting: 1 % is 2 minutes (rounded up)
    session = make_live_session(state="ended", credit_min_share=1, replay_earns_credit=True)
    services.replay_store(session=session, url="https://vod.example.com/r.m3u8", actor=make_staff())
    session.refresh_from_db()
    doctor = registered_doctor(session)
    assert services.heartbeat_record(session=session, viewer=doctor, mode="replay", position=0)["credited"] is False
    assert services.heartbeat_record(session=session, viewer=doctor, mode="replay", position=70)["credited"] is True


def test_replay_earns_nothing_unless_the_rule_says_so():
    live_rule()
    session = make_live_session(state="ended", credit_min_live_minutes=1)
    services.replay_store(session=session, url="https://vod.example.com/r.m3u8", actor=make_staff())
    session.refresh_from_db()
    doctor = registered_doctor(session)
    assert services.heartbeat_record(session=session, viewer=doctor, mode="replay", position=5)["credited"] is False
    assert not PointsTransaction.objects.filter(account__user=doctor).exists()


def test_prompts_come_every_12_to_15_minutes_and_stop_the_count_until_answered():
    session = make_live_session(state="live", prompts_enabled=True)
    doctor = registered_doctor(session)
    start = session.started_at
    services.heartbeat_record(session=session, viewer=doctor, now=start)
    row = Attendance.objects.get(viewer=doctor)
    assert timedelta(minutes=12) <= row.prompt_due_at - start <= timedelta(minutes=15)
    assert code_of(services.prompt_answer, session=session, viewer=doctor) == "no_prompt"
    due = row.prompt_due_at
    result = services.heartbeat_record(session=session, viewer=doctor, now=due + timedelta(seconds=1))
    assert result["prompt"] is True
    counted = result["live_minutes"]
    result = services.heartbeat_record(session=session, viewer=doctor, now=due + timedelta(minutes=2))
    assert result["live_minutes"] == counted  # unanswered: nothing counts
    with time_machine.travel(due + timedelta(minutes=3), tick=False):
        answered = services.prompt_answer(session=session, viewer=doctor)
    assert answered["prompt"] is False
    row.refresh_from_db()
    assert (row.prompts_issued, row.prompts_answered) == (1, 1)
    assert timedelta(minutes=12) <= row.prompt_due_at - (due + timedelta(minutes=3)) <= timedelta(minutes=15)
    result = services.heartbeat_record(session=session, viewer=doctor, now=due + timedelta(minutes=4))
    assert result["live_minutes"] == counted + 1


# --- broadcasting -----------------------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_pending_questions_reach_moderators_only_and_approval_reaches_everyone():
    session = make_live_session(state="live")
    doctor = registered_doctor(session)
    moderator = make_staff("medical_reviewer")
    audience, moderators, question = room_frames(
        session.pk, lambda: services.question_ask(session=session, author=doctor, text="Q?", anonymous=True))
    assert [f["type"] for f in audience] == []
    assert [f["type"] for f in moderators] == ["question"]
    audience, moderators, _ = room_frames(
        session.pk, lambda: services.question_moderate(question=question, actor=moderator, action="approve"))
    assert [f["question"]["state"] for f in audience] == ["approved"]
    assert audience[0]["question"]["author"] is None  # anonymous to the audience
    assert moderators[0]["id"] == audience[0]["id"]


@pytest.mark.django_db(transaction=True)
def test_chat_reaches_the_room_after_commit():
    session = make_live_session(state="live")
    doctor = registered_doctor(session)
    audience, moderators, message = room_frames(
        session.pk, lambda: services.chat_post(session=session, author=doctor, text="hello"))
    assert [(f["type"], f["message"]["id"]) for f in audience] == [("chat", message.pk)]
    assert len(moderators) == 1


@pytest.mark.django_db(transaction=True)
def test_a_hundred_reactions_in_a_second_become_at_most_two_broadcasts():
    from events.live import broadcast
    from tests.factories import UserFactory

    session = make_live_session(state="live")
    people = [UserFactory() for _ in range(100)]

    def react():
        for person in people:
            services.reaction_send(session=session, user=person, emoji="👏")
        broadcast.flush_room(session.pk)

    audience, _moderators, _ = room_frames(session.pk, react)
    tallies = [f for f in audience if f["type"] == "tally"]
    assert 1 <= len(tallies) <= 2
    assert sum(f.get("reaction", {}).get("👏", 0) for f in tallies) == 100
