"""Reads of live sessions: the one access rule (`access_live_session`), who may enter a room and as what
(`room_entry`), the HTTP snapshot a page resyncs from (`room_snapshot`), the shapes events carry, and the
attendance report."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from engage.core.errors import DomainError, NotFound, PermissionDenied
from engage.core.roles import Capability, can
from engage.reminders.models import mask_name
from events.live import broadcast, providers
from events.live.models import (
    Attendance,
    ChatMessage,
    LiveSession,
    Poll,
    PollVote,
    Question,
    QuestionVote,
    RoomSanction,
)
from events.pages.selectors import access_event
from events.registrations.models import Registration
from events.registrations.selectors import event_eligibility

SNAPSHOT_MESSAGES = 50
REACTIONS = ("👍", "👏", "❤️", "💡", "🎉")


def can_moderate_live(user) -> bool:
    return can(user, Capability.MODERATE_LIVE)


def can_manage_live_sessions(user) -> bool:
    return can(user, Capability.MANAGE_LIVE_SESSIONS)


def can_edit_banned_words(user) -> bool:
    return can(user, Capability.EDIT_BANNED_WORDS)


def can_view_live_reports(user) -> bool:
    return can(user, Capability.VIEW_MEETINGS_ADMIN)


def access_live_session(*, user, live_session_id) -> LiveSession:
    """The live session `live_session_id` when its meeting is reachable by `user` (access_event: live meetings,
    staff also drafts); NotFound otherwise. Who may enter the room is `room_entry`."""
    try:
        live_session_id = int(live_session_id)
    except (TypeError, ValueError):
        raise NotFound("live_session_not_found", _("No such live session.")) from None
    session = LiveSession.objects.select_related("event").filter(pk=live_session_id).first()
    if session is None:
        raise NotFound("live_session_not_found", _("No such live session."))
    try:
        access_event(user=user, event_id=session.event_id)
    except NotFound:
        raise NotFound("live_session_not_found", _("No such live session.")) from None
    return session


def live_session_of_event(*, event) -> LiveSession | None:
    return LiveSession.objects.filter(event=event).first()


def active_sanction(session: LiveSession, user, kind: str) -> RoomSanction | None:
    if user is None or not getattr(user, "pk", None):
        return None
    return RoomSanction.objects.filter(session=session, user=user, kind=kind, lifted_at__isnull=True).first()


def is_muted(session: LiveSession, user) -> bool:
    return active_sanction(session, user, RoomSanction.Kind.MUTE) is not None


def is_banned(session: LiveSession, user) -> bool:
    return active_sanction(session, user, RoomSanction.Kind.BAN) is not None


@dataclass(frozen=True)
class RoomEntry:
    """Who enters as what: `role` moderator or viewer; `mode` waiting (not started), live or replay."""

    role: str
    mode: str
    muted: bool = False

    @property
    def moderator(self) -> bool:
        return self.role == "moderator"


def _mode(session: LiveSession) -> str | None:
    if session.state == LiveSession.State.SCHEDULED:
        return "waiting"
    if session.state == LiveSession.State.LIVE:
        return "live"
    return "replay" if session.replay_url else None


def room_entry(*, user, session: LiveSession) -> RoomEntry:
    """Whether `user` may enter the room of `session`: moderators (MODERATE_LIVE) always; others when the meeting's
    audience rule admits them, with a confirmed registration when the session requires one, and not banned. An
    ended session without a replay admits only moderators. Raises DomainError: not_signed_in (401),
    not_in_audience, not_registered, banned (403), ended (410)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        raise DomainError("not_signed_in", _("Sign in to join the live session."), status=401)
    mode = _mode(session)
    if can_moderate_live(user):
        return RoomEntry("moderator", mode or "ended")
    if is_banned(session, user):
        raise PermissionDenied("banned", _("A moderator has removed you from this live session."))
    if not event_eligibility(user=user, event=session.event):
        raise PermissionDenied("not_in_audience", _("This live session is for another audience."))
    if session.registration_required and not Registration.objects.filter(
            event_id=session.event_id, doctor=user, status=Registration.Status.CONFIRMED).exists():
        raise PermissionDenied("not_registered", _("Register for the meeting to join the live session."))
    if mode is None:
        raise DomainError("ended", _("The live session has ended and there is no replay yet."), status=410)
    return RoomEntry("viewer", mode, muted=is_muted(session, user))


def is_moderator(user, session: LiveSession) -> bool:
    return can_moderate_live(user)


# --- shapes -------------------------------------------------------------------------------------------------------

AUTHOR = ("author", "author__doctor_profile__hospital")  # what _name reads, in the same query


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _name(user, *, moderator: bool = False) -> str:
    """How the room names a participant. A doctor by the verified profile, never the self-chosen account name: the
    audience sees the surname masked and the hospital (张** · 协和医院: a colleague, not a person's full identity);
    moderators the full real name and the hospital. Staff without a profile: their account's name."""
    profile = getattr(user, "doctor_profile", None)
    if profile is not None and profile.real_name:
        name = profile.real_name if moderator else mask_name(profile.real_name)
        return f"{name} · {profile.hospital.name}" if profile.hospital_id else name
    return user.display_name or user.get_full_name() or _("Doctor")


def chat_message_dict(message: ChatMessage, *, moderator: bool = False) -> dict:
    data = {"id": message.pk, "text": message.text, "at": _iso(message.created_at),
            "author": _name(message.author, moderator=moderator)}
    if moderator:
        data.update(author_id=message.author_id, deleted=message.deleted_at is not None,
                    pv_case=message.pv_case_id)
    return data


def question_dict(question: Question, *, moderator: bool = False, voted: bool = False) -> dict:
    hidden = question.anonymous and not moderator
    data = {"id": question.pk, "text": question.text, "state": question.state, "pinned": question.pinned,
            "score": question.score, "at": _iso(question.created_at), "anonymous": question.anonymous,
            "author": None if hidden else _name(question.author, moderator=moderator),
            "voted": voted}
    if moderator:
        data.update(author_id=question.author_id, pv_case=question.pv_case_id)
    return data


def poll_counts(poll: Poll) -> dict[int, int]:
    rows = (PollVote.objects.filter(poll=poll).values("choices__option_id")
            .annotate(n=Count("id")).values_list("choices__option_id", "n"))
    return {option_id: n for option_id, n in rows if option_id is not None}


def poll_dict(poll: Poll, *, with_results: bool = False, my_choices: list[int] | None = None) -> dict:
    counts = poll_counts(poll) if with_results else {}
    options = []
    for option in poll.options.all():
        item = {"id": option.pk, "text": option.text}
        if with_results:
            item["votes"] = counts.get(option.pk, 0)
        options.append(item)
    data = {"id": poll.pk, "question": poll.question, "kind": poll.kind, "state": poll.state,
            "results_shown": poll.results_visible_to_audience, "options": options}
    if with_results:
        data["voters"] = PollVote.objects.filter(poll=poll).count()
    if my_choices is not None:
        data["my_choices"] = my_choices
    return data


def state_dict(session: LiveSession) -> dict:
    return {"id": session.pk, "state": session.state, "started_at": _iso(session.started_at),
            "ended_at": _iso(session.ended_at), "replay": bool(session.replay_url),
            "questions_moderated": session.questions_moderated, "prompts_enabled": session.prompts_enabled,
            "starts_at": _iso(session.event.starts_at), "ends_at": _iso(session.event.ends_at),
            "title": session.event.title}


def play_url_for(*, session: LiveSession, user, now: datetime | None = None) -> dict:
    """The player's source now: the live stream's signed URL while live, the signed replay after, else none."""
    if session.state == LiveSession.State.LIVE:
        return {"kind": "live", **providers.play_url(session, now=now).as_dict()}
    if session.state == LiveSession.State.ENDED:
        replay = providers.replay_url(session, now=now)
        if replay is not None:
            return {"kind": "replay", **replay.as_dict()}
    return {"kind": "none", "url": "", "expires_at": None}


def visible_questions(*, session: LiveSession, order: str = "votes"):
    qs = Question.objects.filter(session=session, state__in=Question.VISIBLE).select_related(*AUTHOR)
    if order == "time":
        return qs.order_by("-pinned", "-created_at", "-id")
    return qs.order_by("-pinned", "-score", "created_at", "id")


def room_snapshot(*, session: LiveSession, user, entry: RoomEntry | None = None) -> dict:
    """Everything a page needs to draw the room, for (re)connects: read `last_event_id` first, then the rows, so an
    event racing the snapshot is applied twice at worst (pages ignore ids they have), never lost."""
    entry = entry or room_entry(user=user, session=session)
    last_id = broadcast.last_event_id(session.pk)
    moderator = entry.moderator
    chat = ChatMessage.objects.filter(session=session).select_related(*AUTHOR).order_by("-id")
    if not moderator:
        chat = chat.filter(deleted_at__isnull=True)
    messages = [chat_message_dict(m, moderator=moderator) for m in reversed(chat[:SNAPSHOT_MESSAGES])]
    voted = set(QuestionVote.objects.filter(question__session=session, user=user).values_list("question_id",
                                                                                               flat=True))
    questions = [question_dict(q, moderator=moderator, voted=q.pk in voted) for q in visible_questions(session=session)]
    polls_qs = Poll.objects.filter(session=session).prefetch_related("options")
    if not moderator:
        polls_qs = polls_qs.filter(Q(state=Poll.State.OPEN) | Q(state=Poll.State.CLOSED, results_shown=True))
    mine: dict[int, list[int]] = {}
    for poll_id, option_id in PollVote.objects.filter(poll__session=session, user=user).values_list(
            "poll_id", "choices__option_id"):
        mine.setdefault(poll_id, []).append(option_id)
    polls = [poll_dict(p, with_results=moderator or p.results_visible_to_audience, my_choices=mine.get(p.pk, []))
             for p in polls_qs]
    data = {
        "session": state_dict(session), "role": entry.role, "mode": entry.mode, "muted": entry.muted,
        "last_event_id": last_id, "messages": messages, "questions": questions, "polls": polls,
        "counts": {"viewers": broadcast.viewer_count(session.pk)}, "reactions": list(REACTIONS),
        "play": play_url_for(session=session, user=user),
    }
    if moderator:
        queue = Question.objects.filter(session=session, state=Question.State.PENDING).select_related(*AUTHOR)
        data["queue"] = [question_dict(q, moderator=True) for q in queue.order_by("created_at", "id")]
    return data


# --- attendance report ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AttendanceRow:
    doctor_id: int
    name: str
    hospital: str
    joined_at: datetime
    live_minutes: int
    replay_minutes: int
    prompts_issued: int
    prompts_answered: int
    questions_asked: int
    polls_answered: int
    credited: bool


def attendance_report(*, session: LiveSession) -> list[AttendanceRow]:
    """One row per viewer who sent a heartbeat or joined, in joining order."""
    rows = (Attendance.objects.filter(session=session)
            .select_related("viewer__doctor_profile__hospital").order_by("joined_at", "id"))
    questions = dict(Question.objects.filter(session=session).values("author_id").annotate(n=Count("id"))
                     .values_list("author_id", "n"))
    polls = dict(PollVote.objects.filter(poll__session=session).values("user_id").annotate(n=Count("id"))
                 .values_list("user_id", "n"))
    report = []
    for row in rows:
        viewer = row.viewer
        profile = getattr(viewer, "doctor_profile", None)
        report.append(AttendanceRow(
            doctor_id=viewer.pk, name=profile.real_name if profile else _name(viewer),
            hospital=profile.hospital.name if profile and profile.hospital_id else "",
            joined_at=timezone.localtime(row.joined_at), live_minutes=row.live_minutes,
            replay_minutes=row.replay_minutes, prompts_issued=row.prompts_issued,
            prompts_answered=row.prompts_answered, questions_asked=questions.get(viewer.pk, 0),
            polls_answered=polls.get(viewer.pk, 0), credited=row.credited_at is not None))
    return report


def live_sessions_for_admin():
    return LiveSession.objects.select_related("event").order_by("-event__starts_at", "-id")


# --- lookups for interfaces -----------------------------------------------------------------------------------------

def _of_session(model, session: LiveSession, object_id, code: str, message):
    try:
        return model.objects.get(session=session, pk=int(object_id))
    except (TypeError, ValueError, model.DoesNotExist):
        raise NotFound(code, message) from None


def message_of(session: LiveSession, message_id) -> ChatMessage:
    return _of_session(ChatMessage, session, message_id, "message_not_found", _("No such message."))


def question_of(session: LiveSession, question_id) -> Question:
    return _of_session(Question, session, question_id, "question_not_found", _("No such question."))


def poll_of(session: LiveSession, poll_id) -> Poll:
    return _of_session(Poll, session, poll_id, "poll_not_found", _("No such poll."))
