"""Every write of a live session: the session and its state, stream callbacks, chat, sanctions, questions, polls,
reactions, heartbeats, attention prompts and the attendance credit.

Services are keyword-only and atomic, raise DomainError with a stable code and change nothing when they do,
write the audit entry for what compliance reads (state changes, moderation, the credit rule), and broadcast to the
room only after the commit (events.live.broadcast.publish_event / coalesce). Chat messages and questions are read
by the reminders feature's adverse-event detector: a doctor describing a possible side effect opens a
pharmacovigilance case for medical staff with the words, the session and the doctor.
"""

import logging
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from engage.audit.services import audit_log
from engage.core.errors import Conflict, DomainError, PermissionDenied
from engage.reminders.services import pv_case_open_for_doctor
from events.live import broadcast
from events.live.models import (
    Attendance,
    BannedWord,
    ChatMessage,
    LiveSession,
    Poll,
    PollChoice,
    PollOption,
    PollVote,
    Question,
    QuestionVote,
    RoomSanction,
    StreamCallback,
)
from events.live.selectors import (
    REACTIONS,
    RoomEntry,
    can_manage_live_sessions,
    can_moderate_live,
    chat_message_dict,
    poll_dict,
    question_dict,
    room_entry,
    state_dict,
)
from events.pages.models import EventPage
from members.engagement.models import EngagementKind
from members.engagement.services import engagement_record
from members.points.services import points_award

logger = logging.getLogger("engage.live")

LIVE_CREDIT_RULE = "attend_live"
QUESTION_MAX_LENGTH = 500
POLL_OPTIONS_MAX = 10
PROMPT_MIN_SECONDS, PROMPT_MAX_SECONDS = 12 * 60, 15 * 60
REPLAY_MAX_SECONDS = 24 * 3600
_random = secrets.SystemRandom()


def _clean(text) -> str:
    if not isinstance(text, str):
        raise DomainError("invalid_text", _("Enter text."))
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C").strip()
    return text


def _require(actor, allowed: bool, message) -> None:
    if not allowed:
        raise PermissionDenied("forbidden", message)


def _moderator(actor) -> None:
    _require(actor, can_moderate_live(actor), _("Only moderators may do this."))


# --- the session ----------------------------------------------------------------------------------------------------

RULE_FIELDS = ("credit_min_live_minutes", "credit_min_share", "prompts_enabled", "replay_earns_credit")


@dataclass(frozen=True)
class LiveSessionInput:
    provider: str = LiveSession.Provider.TENCENT
    stream_name: str = ""
    app_name: str = "live"
    plain_url: str = ""
    registration_required: bool = True
    questions_moderated: bool = True
    credit_min_live_minutes: int | None = None
    credit_min_share: int | None = None
    prompts_enabled: bool = False
    replay_earns_credit: bool = False


def live_session_save(*, event: EventPage, data: LiveSessionInput, actor, now: datetime | None = None) -> LiveSession:
    """Creates or changes the live session of `event` (MANAGE_LIVE_SESSIONS); audited. The credit rule cannot change
    from 15 minutes before the meeting starts (`rule_locked`)."""
    _require(actor, can_manage_live_sessions(actor), _("Only meeting staff may set up live sessions."))
    now = now or timezone.now()
    if data.provider not in LiveSession.Provider.values:
        raise DomainError("invalid_provider", _("Unknown stream provider."))
    if data.provider == LiveSession.Provider.PLAIN and not data.plain_url.strip():
        raise DomainError("plain_url_required", _("The plain provider needs an HLS URL."))
    minutes, share = data.credit_min_live_minutes, data.credit_min_share
    if minutes is not None and not (isinstance(minutes, int) and 0 < minutes <= 24 * 60):
        raise DomainError("invalid_rule", _("The minimum minutes must be between 1 and 1440."))
    if share is not None and not (isinstance(share, int) and 0 < share <= 100):
        raise DomainError("invalid_rule", _("The minimum share must be between 1 and 100 percent."))
    stream_name = (data.stream_name or "").strip() or f"m{event.pk}-{secrets.token_hex(4)}"
    with transaction.atomic():
        session = LiveSession.objects.select_for_update().filter(event=event).first()
        before = {f: getattr(session, f) for f in RULE_FIELDS} if session else {}
        after = {f: getattr(data, f) for f in RULE_FIELDS}
        if session is not None and before != after and now >= session.rule_locked_from:
            raise Conflict("rule_locked", _("The credit rule is locked from 15 minutes before the meeting starts."))
        session = session or LiveSession(event=event)
        for name, value in {**after, "provider": data.provider, "app_name": data.app_name or "live",
                            "plain_url": data.plain_url.strip(), "registration_required": data.registration_required,
                            "questions_moderated": data.questions_moderated}.items():
            setattr(session, name, value)
        if not session.pk or data.stream_name:
            session.stream_name = stream_name
        if LiveSession.objects.filter(stream_name=session.stream_name).exclude(pk=session.pk).exists():
            raise Conflict("stream_name_taken", _("Another live session uses this stream name."))
        session.save()
        audit_log(actor=actor, action="events.live_session_save", obj=session, before=before,
                  after={**after, "provider": data.provider, "stream_name": session.stream_name})
    return session


def _publish_state(session: LiveSession) -> None:
    broadcast.publish_event(session_id=session.pk, event={"type": "state", **state_dict(session)})


def live_state_set(*, session: LiveSession, state: str, actor=None, at: datetime | None = None,
                   source: str = "staff") -> LiveSession:
    """Moves the session between scheduled, live and ended (a stream that resumes after a stop goes live again);
    the same state again changes nothing. `actor` None is a provider callback. Audited; broadcast after commit."""
    if actor is not None:
        _require(actor, can_manage_live_sessions(actor) or can_moderate_live(actor),
                 _("Only moderators may start or end a live session."))
    if state not in LiveSession.State.values:
        raise DomainError("invalid_state", _("Unknown state."))
    at = at or timezone.now()
    with transaction.atomic():
        session = LiveSession.objects.select_for_update().select_related("event").get(pk=session.pk)
        if session.state == state:
            return session
        if state == LiveSession.State.SCHEDULED:
            raise Conflict("invalid_transition", _("A session that has started cannot be scheduled again."))
        before = {"state": session.state}
        if state == LiveSession.State.LIVE:
            session.started_at = session.started_at or at
            session.ended_at = None
        else:
            session.ended_at = at
        session.state = state
        session.save(update_fields=["state", "started_at", "ended_at", "updated_at"])
        audit_log(actor=actor, action="events.live_state_set", obj=session, before=before,
                  after={"state": state, "source": source})
        _publish_state(session)
    return session


def replay_store(*, session: LiveSession, url: str, file_id: str = "", actor=None) -> LiveSession:
    """Stores the recording as the session's replay (the provider's recording callback, or staff)."""
    if actor is not None:
        _require(actor, can_manage_live_sessions(actor), _("Only meeting staff may set the replay."))
    url = (url or "").strip()
    if not url.startswith(("https://", "http://", "/")) or len(url) > 500:
        raise DomainError("invalid_url", _("Enter the replay's URL."))
    with transaction.atomic():
        session = LiveSession.objects.select_for_update().select_related("event").get(pk=session.pk)
        if session.replay_url == url and session.replay_file_id == file_id[:100]:
            return session
        session.replay_url, session.replay_file_id = url, file_id[:100]
        session.replay_ready_at = timezone.now()
        session.save(update_fields=["replay_url", "replay_file_id", "replay_ready_at", "updated_at"])
        audit_log(actor=actor, action="events.live_replay_store", obj=session, after={"file_id": file_id[:100]})
        _publish_state(session)
    return session


class CallbackKind:
    START = "start"
    STOP = "stop"
    RECORDING = "recording"
    OTHER = "other"


def stream_callback_handle(*, provider: str, kind: str, stream_name: str, dedupe_key: str, payload: dict,
                           at: datetime | None = None, replay_url: str = "", replay_file_id: str = "") -> str:
    """Applies a verified provider callback once: "done", "duplicate" (a retry: nothing changes), "unknown_stream"
    or "ignored" (an event type we do not act on). The callback row and its effect commit together."""
    try:
        with transaction.atomic():
            session = LiveSession.objects.filter(stream_name=stream_name).first() if stream_name else None
            StreamCallback.objects.create(provider=provider, dedupe_key=dedupe_key[:200], event_type=kind,
                                          session=session, payload=payload)
            if session is None:
                return "unknown_stream"
            try:
                if kind == CallbackKind.START:
                    live_state_set(session=session, state=LiveSession.State.LIVE, at=at, source=provider)
                elif kind == CallbackKind.STOP:
                    live_state_set(session=session, state=LiveSession.State.ENDED, at=at, source=provider)
                elif kind == CallbackKind.RECORDING:
                    replay_store(session=session, url=replay_url, file_id=replay_file_id)
                else:
                    return "ignored"
            except DomainError as exc:  # kept and acknowledged: a retry would be refused the same way
                logger.warning("%s callback %s for session %s refused: %s", provider, kind, session.pk, exc.code)
                return f"refused:{exc.code}"
            return "done"
    except IntegrityError:
        return "duplicate"


# --- chat -----------------------------------------------------------------------------------------------------------

def _normalise(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def banned_words_in(text: str) -> list[str]:
    words = _normalise(text)
    return [w for w in BannedWord.objects.filter(is_active=True).values_list("word", flat=True)
            if _normalise(w) and _normalise(w) in words]


def _writer_entry(*, session: LiveSession, user) -> RoomEntry:
    entry = room_entry(user=user, session=session)
    if entry.moderator:
        return entry
    if session.state == LiveSession.State.ENDED:
        raise Conflict("session_ended", _("The live session has ended: the room is read-only."))
    if entry.muted:
        raise PermissionDenied("muted", _("A moderator has muted you in this live session."))
    return entry


def _rate_limit(*, kind: str, session: LiveSession, user) -> None:
    """At most one message per ENGAGE_LIVE_CHAT_INTERVAL seconds per person and session (Redis SET NX with
    expiry, shared by every process). A cache that cannot be reached refuses, as the project's other limits do."""
    interval = max(int(settings.ENGAGE_LIVE_CHAT_INTERVAL), 1)
    if not cache.add(f"engage:live:{kind}:{session.pk}:{user.pk}", 1, timeout=interval):
        raise DomainError("rate_limited", _("You are writing too fast. Please wait a moment."), status=429)


def _pv_context(session: LiveSession, where: str) -> str:
    return f"{where} · {session.event.title} · live session #{session.pk}"


def chat_post(*, session: LiveSession, author, text: str) -> ChatMessage:
    """Posts a chat message to the room: at most ENGAGE_LIVE_CHAT_MAX_LENGTH characters, one per
    ENGAGE_LIVE_CHAT_INTERVAL seconds, none with a banned word, none from a muted or banned person. Kept forever;
    read by the adverse-event detector."""
    text = _clean(text)
    if not text:
        raise DomainError("empty", _("Write a message first."))
    if len(text) > settings.ENGAGE_LIVE_CHAT_MAX_LENGTH:
        raise DomainError("too_long", _("A message has at most %(n)s characters.")
                          % {"n": settings.ENGAGE_LIVE_CHAT_MAX_LENGTH})
    entry = _writer_entry(session=session, user=author)
    if not entry.moderator and banned_words_in(text):
        raise DomainError("banned_word", _("Your message contains a word that is not allowed here."))
    if not entry.moderator:
        _rate_limit(kind="chat", session=session, user=author)
    with transaction.atomic():
        message = ChatMessage.objects.create(session=session, author=author, text=text)
        case = pv_case_open_for_doctor(doctor=author, text=text, source="live_chat",
                                       source_key=f"live:chat:{message.pk}", context=_pv_context(session, "chat"))
        if case is not None:
            message.pv_case = case
            message.save(update_fields=["pv_case"])
            broadcast.publish_event(session_id=session.pk, audience=False, event={
                "type": "pv_case", "source": "chat", "message_id": message.pk, "case_id": case.pk})
        broadcast.publish_event(session_id=session.pk, event={
            "type": "chat", "message": {**chat_message_dict(message), "author_id": author.pk}})
    return message


def chat_delete(*, message: ChatMessage, actor) -> ChatMessage:
    """A moderator hides a message from the room; the row stays in the transcript with who deleted it. Audited."""
    _moderator(actor)
    with transaction.atomic():
        message = ChatMessage.objects.select_for_update().get(pk=message.pk)
        if message.deleted_at is not None:
            return message
        message.deleted_at, message.deleted_by = timezone.now(), actor
        message.save(update_fields=["deleted_at", "deleted_by"])
        audit_log(actor=actor, action="events.live_chat_delete", obj=message, before={"text": message.text})
        broadcast.publish_event(session_id=message.session_id, event={"type": "chat_deleted",
                                                                      "message_id": message.pk})
    return message


def _sanction(*, session: LiveSession, user, kind: str, actor, reason: str = "") -> RoomSanction:
    _moderator(actor)
    if can_moderate_live(user):
        raise DomainError("cannot_sanction_moderator", _("Moderators cannot be muted or banned."))
    reason = _clean(reason)[:300] if reason else ""
    try:
        with transaction.atomic():
            row = RoomSanction.objects.create(session=session, user=user, kind=kind, reason=reason, created_by=actor)
            audit_log(actor=actor, action=f"events.live_{kind}", obj=row, after={"user": user.pk, "reason": reason})
            broadcast.publish_event(session_id=session.pk, event={
                "type": "sanction", "user_id": user.pk, "kind": kind, "active": True})
            return row
    except IntegrityError:  # already muted/banned: the same answer
        return RoomSanction.objects.get(session=session, user=user, kind=kind, lifted_at__isnull=True)


def _lift(*, session: LiveSession, user, kind: str, actor) -> None:
    _moderator(actor)
    with transaction.atomic():
        rows = RoomSanction.objects.select_for_update().filter(session=session, user=user, kind=kind,
                                                               lifted_at__isnull=True)
        for row in rows:
            row.lifted_at = timezone.now()
            row.save(update_fields=["lifted_at"])
            audit_log(actor=actor, action=f"events.live_{kind}_lift", obj=row, after={"user": user.pk})
            broadcast.publish_event(session_id=session.pk, event={
                "type": "sanction", "user_id": user.pk, "kind": kind, "active": False})


def participant_mute(*, session: LiveSession, user, actor, reason: str = "") -> RoomSanction:
    """The person may still watch but no longer write (chat, questions) in this session."""
    return _sanction(session=session, user=user, kind=RoomSanction.Kind.MUTE, actor=actor, reason=reason)


def participant_ban(*, session: LiveSession, user, actor, reason: str = "") -> RoomSanction:
    """The person may no longer enter this session's room (the consumer closes their socket on the event)."""
    return _sanction(session=session, user=user, kind=RoomSanction.Kind.BAN, actor=actor, reason=reason)


def participant_unmute(*, session: LiveSession, user, actor) -> None:
    _lift(session=session, user=user, kind=RoomSanction.Kind.MUTE, actor=actor)


def participant_unban(*, session: LiveSession, user, actor) -> None:
    _lift(session=session, user=user, kind=RoomSanction.Kind.BAN, actor=actor)


# --- questions ------------------------------------------------------------------------------------------------------

def _publish_question(question: Question) -> None:
    visible = question.state in Question.VISIBLE
    broadcast.publish_event(session_id=question.session_id, audience=visible,
                            event={"type": "question", "question": question_dict(question)})


def question_ask(*, session: LiveSession, author, text: str, anonymous: bool = False) -> Question:
    """Asks a question: into the moderators' queue when the session moderates questions, else straight to the
    audience. `anonymous` hides the author from the audience; the row keeps them. Read by the AE detector."""
    text = _clean(text)
    if not text:
        raise DomainError("empty", _("Write your question first."))
    if len(text) > QUESTION_MAX_LENGTH:
        raise DomainError("too_long", _("A question has at most %(n)s characters.") % {"n": QUESTION_MAX_LENGTH})
    entry = _writer_entry(session=session, user=author)
    if not entry.moderator:
        _rate_limit(kind="question", session=session, user=author)
    state = Question.State.PENDING if session.questions_moderated else Question.State.APPROVED
    with transaction.atomic():
        question = Question.objects.create(session=session, author=author, text=text, anonymous=bool(anonymous),
                                           state=state)
        case = pv_case_open_for_doctor(doctor=author, text=text, source="live_question",
                                       source_key=f"live:question:{question.pk}",
                                       context=_pv_context(session, "Q&A"))
        if case is not None:
            question.pv_case = case
            question.save(update_fields=["pv_case"])
            broadcast.publish_event(session_id=session.pk, audience=False, event={
                "type": "pv_case", "source": "question", "question_id": question.pk, "case_id": case.pk})
        _publish_question(question)
    return question


QUESTION_ACTIONS = ("approve", "dismiss", "pin", "unpin", "answered")


def question_moderate(*, question: Question, actor, action: str) -> Question:
    """approve (to the audience), dismiss (out of sight), pin / unpin (a visible question on top), answered."""
    _moderator(actor)
    if action not in QUESTION_ACTIONS:
        raise DomainError("invalid_action", _("Unknown moderation action."))
    with transaction.atomic():
        question = Question.objects.select_for_update().select_related("author").get(pk=question.pk)
        before = {"state": question.state, "pinned": question.pinned}
        was_visible = question.state in Question.VISIBLE
        if action == "approve":
            question.state = Question.State.APPROVED
        elif action == "dismiss":
            question.state, question.pinned = Question.State.DISMISSED, False
        elif action == "answered":
            question.state = Question.State.ANSWERED
        else:
            if question.state not in Question.VISIBLE:
                raise Conflict("not_visible", _("Approve the question before pinning it."))
            question.pinned = action == "pin"
        question.moderated_at, question.moderated_by = timezone.now(), actor
        question.save(update_fields=["state", "pinned", "moderated_at", "moderated_by"])
        audit_log(actor=actor, action=f"events.live_question_{action}", obj=question, before=before,
                  after={"state": question.state, "pinned": question.pinned})
        if action == "dismiss":
            broadcast.publish_event(session_id=question.session_id, audience=was_visible,
                                    event={"type": "question_removed", "question_id": question.pk})
        else:
            _publish_question(question)
    return question


def question_vote(*, question: Question, user) -> Question:
    """One upvote per person per question (database constraint); the score is counted in the same transaction.
    The new score reaches the room coalesced (about once a second), never one message per vote."""
    question = Question.objects.select_related("session__event").get(pk=question.pk)
    session = question.session
    room_entry(user=user, session=session)
    if question.state not in Question.VISIBLE:
        raise Conflict("not_visible", _("This question is not open for votes."))
    try:
        with transaction.atomic():
            QuestionVote.objects.create(question=question, user=user)
            Question.objects.filter(pk=question.pk).update(score=F("score") + 1)
            question.refresh_from_db(fields=["score"])
            broadcast.coalesce(session_id=session.pk, kind="question_score", key=str(question.pk),
                               value=question.score)
    except IntegrityError:
        raise Conflict("already_voted", _("You have already voted for this question.")) from None
    return question


# --- polls ----------------------------------------------------------------------------------------------------------

def poll_create(*, session: LiveSession, actor, question: str, options: list[str], kind: str = "single") -> Poll:
    """A draft poll with 2–10 options; moderators open, close and show its results."""
    _moderator(actor)
    question = _clean(question)
    if not question or len(question) > 300:
        raise DomainError("invalid_question", _("Enter the poll's question (at most 300 characters)."))
    if kind not in Poll.Kind.values:
        raise DomainError("invalid_kind", _("A poll is single or multiple choice."))
    if not isinstance(options, list | tuple):
        raise DomainError("invalid_options", _("Enter between 2 and 10 options."))
    cleaned = [_clean(o) for o in options]
    if not 2 <= len(cleaned) <= POLL_OPTIONS_MAX or any(not o or len(o) > 200 for o in cleaned) \
            or len(set(cleaned)) != len(cleaned):
        raise DomainError("invalid_options", _("Enter between 2 and 10 different options of at most 200 characters."))
    with transaction.atomic():
        poll = Poll.objects.create(session=session, question=question, kind=kind, created_by=actor)
        PollOption.objects.bulk_create([PollOption(poll=poll, text=t, position=i) for i, t in enumerate(cleaned)])
        audit_log(actor=actor, action="events.live_poll_create", obj=poll, after={"options": cleaned})
        broadcast.publish_event(session_id=session.pk, audience=False,
                                event={"type": "poll", "poll": poll_dict(poll, with_results=True)})
    return poll


def _publish_poll(poll: Poll) -> None:
    visible = poll.results_visible_to_audience
    if poll.state == Poll.State.DRAFT:
        return
    broadcast.publish_event(session_id=poll.session_id, event={"type": "poll",
                                                               "poll": poll_dict(poll, with_results=visible)})
    if not visible:
        broadcast.publish_event(session_id=poll.session_id, audience=False,
                                event={"type": "poll", "poll": poll_dict(poll, with_results=True)})


def _poll_change(*, poll: Poll, actor, allowed_from: tuple, changes: dict, action: str) -> Poll:
    _moderator(actor)
    with transaction.atomic():
        poll = Poll.objects.select_for_update().get(pk=poll.pk)
        if poll.state not in allowed_from:
            raise Conflict("invalid_transition", _("The poll cannot do that in its current state."))
        before = {"state": poll.state, "results_shown": poll.results_shown}
        for name, value in changes.items():
            setattr(poll, name, value)
        poll.save()
        audit_log(actor=actor, action=f"events.live_poll_{action}", obj=poll, before=before,
                  after={"state": poll.state, "results_shown": poll.results_shown})
        _publish_poll(poll)
    return poll


def poll_open(*, poll: Poll, actor) -> Poll:
    return _poll_change(poll=poll, actor=actor, allowed_from=(Poll.State.DRAFT,), action="open",
                        changes={"state": Poll.State.OPEN, "opened_at": timezone.now()})


def poll_close(*, poll: Poll, actor) -> Poll:
    return _poll_change(poll=poll, actor=actor, allowed_from=(Poll.State.OPEN,), action="close",
                        changes={"state": Poll.State.CLOSED, "closed_at": timezone.now()})


def poll_show_results(*, poll: Poll, actor, shown: bool = True) -> Poll:
    return _poll_change(poll=poll, actor=actor, allowed_from=tuple(Poll.State.values), action="results",
                        changes={"results_shown": bool(shown)})


def poll_vote(*, poll: Poll, user, option_ids: list[int]) -> PollVote:
    """One vote per person per poll (database constraint): one option of a single-choice poll, one or more of a
    multiple-choice one. Tallies reach the moderators (and the audience once results are shown) coalesced."""
    poll = Poll.objects.select_related("session__event").get(pk=poll.pk)
    session = poll.session
    room_entry(user=user, session=session)
    if poll.state != Poll.State.OPEN:
        raise Conflict("poll_not_open", _("This poll is not open."))
    if not isinstance(option_ids, list | tuple) or not option_ids \
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in option_ids):
        raise DomainError("bad_options", _("Choose an option."))
    chosen = set(option_ids)
    if len(chosen) != len(option_ids) or (poll.kind == Poll.Kind.SINGLE and len(chosen) != 1):
        raise DomainError("bad_options", _("Choose one option.") if poll.kind == Poll.Kind.SINGLE
                          else _("Choose each option at most once."))
    valid = set(PollOption.objects.filter(poll=poll, pk__in=chosen).values_list("pk", flat=True))
    if valid != chosen:
        raise DomainError("bad_options", _("That option is not part of this poll."))
    try:
        with transaction.atomic():
            vote = PollVote.objects.create(poll=poll, user=user)
            PollChoice.objects.bulk_create([PollChoice(vote=vote, option_id=i) for i in sorted(chosen)])
            visible = poll.results_visible_to_audience
            for option_id in sorted(chosen):
                count = PollChoice.objects.filter(option_id=option_id).count()
                broadcast.coalesce(session_id=session.pk, kind="poll", key=f"{poll.pk}:{option_id}", value=count,
                                   audience=visible)
    except IntegrityError:
        raise Conflict("already_voted", _("You have already voted in this poll.")) from None
    return vote


# --- reactions ------------------------------------------------------------------------------------------------------

def reaction_send(*, session: LiveSession, user, emoji: str) -> bool:
    """Adds a reaction to the room's next tally (no row). A person's reactions count at most once a second; a
    faster one is dropped (False)."""
    if emoji not in REACTIONS:
        raise DomainError("bad_reaction", _("Unknown reaction."))
    if not cache.add(f"engage:live:reaction:{session.pk}:{user.pk}", 1, timeout=1):
        return False
    broadcast.coalesce(session_id=session.pk, kind="reaction", key=emoji, delta=1)
    return True


# --- attendance -----------------------------------------------------------------------------------------------------

def _bit_set(bitmap: bytes, index: int) -> tuple[bytes, bool]:
    data = bytearray(bitmap or b"")
    byte, bit = divmod(index, 8)
    if len(data) <= byte:
        data.extend(b"\x00" * (byte + 1 - len(data)))
    if data[byte] & (1 << bit):
        return bytes(data), False
    data[byte] |= 1 << bit
    return bytes(data), True


def minutes_in(bitmap: bytes) -> int:
    return sum(bin(b).count("1") for b in bytes(bitmap or b""))


def _next_prompt(now: datetime) -> datetime:
    return now + timedelta(seconds=_random.uniform(PROMPT_MIN_SECONDS, PROMPT_MAX_SECONDS))


def credit_threshold(session: LiveSession) -> int | None:
    """Minutes needed for credit by the session's rule, or None when the session has no rule."""
    needed = []
    if session.credit_min_live_minutes:
        needed.append(session.credit_min_live_minutes)
    if session.credit_min_share:
        needed.append(-(-session.credit_min_share * session.scheduled_minutes // 100))
    return min(needed) if needed else None


def _attendance_dict(row: Attendance) -> dict:
    return {"live_minutes": row.live_minutes, "replay_minutes": row.replay_minutes,
            "prompt": row.prompt_open_since is not None, "credited": row.credited_at is not None}


def _locked_attendance(*, session: LiveSession, viewer, now: datetime) -> Attendance:
    row, created = Attendance.objects.get_or_create(session=session, viewer=viewer, defaults={"joined_at": now})
    if created:
        engagement_record(doctor=viewer, kind=EngagementKind.LIVE_WATCHED, source_key=f"live:{session.pk}:{viewer.pk}",
                          obj=session.event, therapy_area=session.event.therapy_area, occurred_at=now,
                          metadata={"live_session": session.pk})
    return Attendance.objects.select_for_update().get(pk=row.pk)


def heartbeat_record(*, session: LiveSession, viewer, mode: str = "live", position=None,
                     now: datetime | None = None) -> dict:
    """Counts the minute a playing, visible player reported (every ~30 s): live minutes by the time since the
    session went live, replay minutes by the replay's position (seconds). A minute counts once however many
    heartbeats or tabs report it. While an attention prompt is unanswered no minute counts. Pays the credit once
    the rule is met. Moderators' heartbeats count nothing."""
    now = now or timezone.now()
    entry = room_entry(user=viewer, session=session)
    if entry.moderator:
        return {"live_minutes": 0, "replay_minutes": 0, "prompt": False, "credited": False}
    if mode == "live":
        if session.state != LiveSession.State.LIVE or session.started_at is None:
            raise Conflict("not_live", _("The session is not live."))
        index = int(max((now - session.started_at).total_seconds(), 0) // 60)
    elif mode == "replay":
        if entry.mode != "replay":
            raise Conflict("no_replay", _("There is no replay to watch."))
        if isinstance(position, bool) or not isinstance(position, int | float) \
                or not 0 <= position <= REPLAY_MAX_SECONDS:
            raise DomainError("invalid_position", _("The replay position is missing or out of range."))
        index = int(position // 60)
    else:
        raise DomainError("invalid_mode", _("A heartbeat is for the live stream or the replay."))
    with transaction.atomic():
        row = _locked_attendance(session=session, viewer=viewer, now=now)
        row.last_seen_at = now
        if mode == "live" and session.prompts_enabled:
            if row.prompt_due_at is None:
                row.prompt_due_at = _next_prompt(now)
            elif row.prompt_open_since is None and now >= row.prompt_due_at:
                row.prompt_open_since = now
                row.prompts_issued += 1
        if row.prompt_open_since is None or mode == "replay":
            if mode == "live":
                row.live_bitmap, added = _bit_set(row.live_bitmap, index)
                row.live_minutes += int(added)
            else:
                row.replay_bitmap, added = _bit_set(row.replay_bitmap, index)
                row.replay_minutes += int(added)
        row.save()
        _credit_if_met(session=session, row=row, now=now)
    return _attendance_dict(row)


def prompt_answer(*, session: LiveSession, viewer, now: datetime | None = None) -> dict:
    """Answers the open "still there?" prompt; the next comes 12–15 minutes later."""
    now = now or timezone.now()
    room_entry(user=viewer, session=session)
    with transaction.atomic():
        row = Attendance.objects.select_for_update().filter(session=session, viewer=viewer).first()
        if row is None or row.prompt_open_since is None:
            raise Conflict("no_prompt", _("There is no question to answer."))
        row.prompt_open_since = None
        row.prompts_answered += 1
        row.prompt_due_at = _next_prompt(now)
        row.save(update_fields=["prompt_open_since", "prompts_answered", "prompt_due_at"])
    return _attendance_dict(row)


def _credit_if_met(*, session: LiveSession, row: Attendance, now: datetime) -> None:
    """Pays the meeting credit once when the rule is met (the attendance row is locked by the caller; the ledger's
    idempotency key is the attendance row, so a retry pays nothing twice)."""
    if row.credited_at is not None:
        return
    threshold = credit_threshold(session)
    if threshold is None:
        return
    minutes = row.live_minutes + (row.replay_minutes if session.replay_earns_credit else 0)
    if minutes < threshold:
        return
    row.credited_at = now
    row.save(update_fields=["credited_at"])
    try:
        with transaction.atomic():
            points_award(member=row.viewer, rule_code=LIVE_CREDIT_RULE, source=row, source_label=session.event.title)
    except DomainError as exc:
        logger.warning("live credit points not awarded for attendance %s: %s", row.pk, exc.code)
    engagement_record(doctor=row.viewer, kind=EngagementKind.MEETING_ATTENDED,
                      source_key=f"live:{session.pk}:{row.viewer_id}:attended", obj=session.event,
                      therapy_area=session.event.therapy_area, occurred_at=now,
                      metadata={"live_minutes": row.live_minutes, "replay_minutes": row.replay_minutes})
