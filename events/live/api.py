"""The live room's HTTP API at /api/v1/live/: the snapshot a page (re)syncs from, the play-URL refresh, heartbeats
and prompt answers, the audience's chat, questions, votes and reactions, and the moderators' actions. The WebSocket
(events.live.consumers) carries the same actions for open rooms; both call the same services. Every answer for a
refusal carries the service's stable code."""

from typing import Literal

from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import Field

from engage.core.errors import NotFound, PermissionDenied
from engage.core.schemas import InputSchema
from events.live import broadcast, providers, services
from events.live.selectors import (
    access_live_session,
    can_manage_live_sessions,
    can_moderate_live,
    chat_message_dict,
    message_of,
    play_url_for,
    poll_dict,
    poll_of,
    question_dict,
    question_of,
    room_entry,
    room_snapshot,
)
from members.accounts.models import User

router = Router(tags=["live sessions"])


class OkOut(Schema):
    ok: bool = True


class HeartbeatIn(InputSchema):
    mode: Literal["live", "replay"] = "live"
    position: float | None = Field(default=None, ge=0, le=86400, description="Replay: seconds into the recording")


class TextIn(InputSchema):
    text: str = Field(max_length=4000)


class QuestionIn(TextIn):
    anonymous: bool = False


class VoteIn(InputSchema):
    options: list[int] = Field(min_length=1, max_length=10)


class ReactionIn(InputSchema):
    emoji: str = Field(max_length=16)


class StateIn(InputSchema):
    state: Literal["live", "ended"]


class SanctionIn(InputSchema):
    user: int = Field(ge=1, le=2**31 - 1)
    kind: Literal["mute", "ban"]
    active: bool = True
    reason: str = Field(default="", max_length=300)


class ModerateIn(InputSchema):
    action: Literal["approve", "dismiss", "pin", "unpin", "answered"]


class PollIn(InputSchema):
    question: str = Field(max_length=300)
    options: list[str] = Field(min_length=2, max_length=10)
    kind: Literal["single", "multiple"] = "single"


def _room(request, session_id: int):
    session = access_live_session(user=request.user, live_session_id=session_id)
    return session, room_entry(user=request.user, session=session)


def _moderated(request, session_id: int):
    session = access_live_session(user=request.user, live_session_id=session_id)
    if not can_moderate_live(request.user):
        raise PermissionDenied("forbidden", _("Only moderators may do this."))
    return session


@router.get("/{int:session_id}/snapshot", summary="The room now (for (re)connects)")
def snapshot(request, session_id: int):
    """State, the last 50 chat messages, visible questions (moderators: the queue too), polls, counts, the last event
    id and the signed play URL. 401 `not_signed_in`, 403 `not_in_audience` / `not_registered` / `banned`, 410
    `ended` (no replay)."""
    session, entry = _room(request, session_id)
    return room_snapshot(session=session, user=request.user, entry=entry)


@router.get("/{int:session_id}/play", summary="A fresh signed play URL")
def play(request, session_id: int):
    """The player's source: the live stream (signed, short expiry) while live, the signed replay after."""
    session, _ = _room(request, session_id)
    return play_url_for(session=session, user=request.user)


@router.post("/{int:session_id}/heartbeat", summary="Watch-time heartbeat")
def heartbeat(request, session_id: int, payload: HeartbeatIn):
    """Every ~30 s while the video plays in a visible tab. Answers the minutes counted, whether a "still there?"
    prompt waits for an answer and whether the credit was paid."""
    session, _ = _room(request, session_id)
    return services.heartbeat_record(session=session, viewer=request.user, mode=payload.mode,
                                     position=payload.position)


@router.post("/{int:session_id}/prompt", summary="Answer the attention prompt")
def prompt(request, session_id: int):
    session, _ = _room(request, session_id)
    return services.prompt_answer(session=session, viewer=request.user)


@router.post("/{int:session_id}/chat", response={201: dict}, summary="Post a chat message")
def chat(request, session_id: int, payload: TextIn):
    session, _ = _room(request, session_id)
    message = services.chat_post(session=session, author=request.user, text=payload.text)
    return 201, chat_message_dict(message)


@router.post("/{int:session_id}/questions", response={201: dict}, summary="Ask a question")
def ask(request, session_id: int, payload: QuestionIn):
    session, _ = _room(request, session_id)
    question = services.question_ask(session=session, author=request.user, text=payload.text,
                                     anonymous=payload.anonymous)
    return 201, question_dict(question)


@router.post("/{int:session_id}/questions/{int:question_id}/vote", summary="Upvote a question")
def vote_question(request, session_id: int, question_id: int):
    session, _ = _room(request, session_id)
    question = services.question_vote(question=question_of(session, question_id), user=request.user)
    return {"id": question.pk, "score": question.score}


@router.post("/{int:session_id}/polls/{int:poll_id}/vote", summary="Vote in a poll")
def vote_poll(request, session_id: int, poll_id: int, payload: VoteIn):
    session, _ = _room(request, session_id)
    vote = services.poll_vote(poll=poll_of(session, poll_id), user=request.user, option_ids=payload.options)
    return {"poll": vote.poll_id, "options": sorted(payload.options)}


@router.post("/{int:session_id}/reactions", summary="React")
def react(request, session_id: int, payload: ReactionIn):
    session, _ = _room(request, session_id)
    return {"counted": services.reaction_send(session=session, user=request.user, emoji=payload.emoji)}


# --- moderators -----------------------------------------------------------------------------------------------------

@router.post("/{int:session_id}/state", summary="Go live or end (moderators)")
def set_state(request, session_id: int, payload: StateIn):
    session = access_live_session(user=request.user, live_session_id=session_id)
    session = services.live_state_set(session=session, state=payload.state, actor=request.user)
    return {"state": session.state}


@router.post("/{int:session_id}/chat/{int:message_id}/delete", summary="Delete a chat message (moderators)")
def delete_message(request, session_id: int, message_id: int):
    session = _moderated(request, session_id)
    message = services.chat_delete(message=message_of(session, message_id), actor=request.user)
    return chat_message_dict(message, moderator=True)


@router.post("/{int:session_id}/sanctions", summary="Mute or ban, or lift it (moderators)")
def sanction(request, session_id: int, payload: SanctionIn):
    session = _moderated(request, session_id)
    user = User.objects.filter(pk=payload.user).first()
    if user is None:
        raise NotFound("user_not_found", _("No such person."))
    if payload.active:
        fn = services.participant_mute if payload.kind == "mute" else services.participant_ban
        fn(session=session, user=user, actor=request.user, reason=payload.reason)
    else:
        fn = services.participant_unmute if payload.kind == "mute" else services.participant_unban
        fn(session=session, user=user, actor=request.user)
    return {"user": user.pk, "kind": payload.kind, "active": payload.active}


@router.post("/{int:session_id}/questions/{int:question_id}/moderate", summary="Moderate a question")
def moderate(request, session_id: int, question_id: int, payload: ModerateIn):
    session = _moderated(request, session_id)
    question = services.question_moderate(question=question_of(session, question_id), actor=request.user,
                                          action=payload.action)
    return question_dict(question, moderator=True)


@router.post("/{int:session_id}/polls", response={201: dict}, summary="Create a draft poll (moderators)")
def create_poll(request, session_id: int, payload: PollIn):
    session = _moderated(request, session_id)
    poll = services.poll_create(session=session, actor=request.user, question=payload.question,
                                options=payload.options, kind=payload.kind)
    return 201, poll_dict(poll, with_results=True)


POLL_ACTIONS = {"open": services.poll_open, "close": services.poll_close}


@router.post("/{int:session_id}/polls/{int:poll_id}/{action}", summary="Open, close, show or hide results")
def poll_action(request, session_id: int, poll_id: int, action: Literal["open", "close", "show", "hide"]):
    session = _moderated(request, session_id)
    poll = poll_of(session, poll_id)
    if action in POLL_ACTIONS:
        poll = POLL_ACTIONS[action](poll=poll, actor=request.user)
    else:
        poll = services.poll_show_results(poll=poll, actor=request.user, shown=action == "show")
    return poll_dict(poll, with_results=True)


@router.get("/{int:session_id}/viewers", summary="Who is in the room (moderators)")
def viewers(request, session_id: int):
    session = _moderated(request, session_id)
    ids = broadcast.present_user_ids(session.pk)[:1000]
    people = User.objects.filter(pk__in=ids).only("pk", "display_name", "first_name", "last_name")
    return {"count": len(ids), "viewers": [{"id": u.pk, "name": u.name} for u in people]}


@router.get("/{int:session_id}/push", summary="The signed push URL for OBS (meeting staff)")
def push(request, session_id: int):
    session = access_live_session(user=request.user, live_session_id=session_id)
    if not can_manage_live_sessions(request.user):
        raise PermissionDenied("forbidden", _("Only meeting staff see the push URL."))
    return providers.push_url(session).as_dict()
