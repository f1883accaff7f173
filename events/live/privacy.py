"""A person's part of live sessions in the personal data export: their chat messages, questions, votes, sanctions
and attendance. On closing everything stays, keyed to the pseudonymised account: the transcript, Q&A, poll results
and watch time of a sponsored session are compliance evidence (and attendance is what meeting credit was paid
for)."""

from engage.core.personal_data import Closing, iso, personal_data
from events.live.models import Attendance, ChatMessage, PollVote, Question, QuestionVote, RoomSanction


@personal_data(section="live_chat", model="events.ChatMessage", user_fields=("author",), order=70,
               closing=Closing.RETAIN, reason="the chat transcript of a sponsored live session is compliance evidence")
def live_chat_export(user) -> list[dict]:
    return [{"session": m.session.event.title, "sent_at": iso(m.created_at), "text": m.text,
             "deleted_at": iso(m.deleted_at)}
            for m in ChatMessage.objects.filter(author=user).select_related("session__event").order_by("id")]


@personal_data(section="live_questions", model="events.Question", user_fields=("author",), order=71,
               closing=Closing.RETAIN, reason="the Q&A of a sponsored live session is compliance evidence")
def live_questions_export(user) -> list[dict]:
    return [{"session": q.session.event.title, "asked_at": iso(q.created_at), "text": q.text,
             "anonymous": q.anonymous, "state": q.state}
            for q in Question.objects.filter(author=user).select_related("session__event").order_by("id")]


@personal_data(section="live_question_votes", model="events.QuestionVote", user_fields=("user",), order=72,
               closing=Closing.RETAIN, reason="each vote is counted in the question's score")
def live_question_votes_export(user) -> list[dict]:
    return [{"question": v.question.text, "voted_at": iso(v.created_at)}
            for v in QuestionVote.objects.filter(user=user).select_related("question").order_by("id")]


@personal_data(section="live_poll_votes", model="events.PollVote", user_fields=("user",), order=73,
               closing=Closing.RETAIN, reason="the poll results of a sponsored live session are compliance evidence")
def live_poll_votes_export(user) -> list[dict]:
    return [{"poll": v.poll.question, "voted_at": iso(v.created_at), "choices": [o.text for o in v.options.all()]}
            for v in PollVote.objects.filter(user=user).select_related("poll").prefetch_related("options")
            .order_by("id")]


@personal_data(section="live_sanctions", model="events.RoomSanction", user_fields=("user",), order=74,
               closing=Closing.RETAIN, reason="moderation of a live session's room (evidence)")
def live_sanctions_export(user) -> list[dict]:
    return [{"session": s.session.event.title, "kind": s.kind, "at": iso(s.created_at), "reason": s.reason,
             "lifted_at": iso(s.lifted_at)}
            for s in RoomSanction.objects.filter(user=user).select_related("session__event").order_by("id")]


@personal_data(section="live_attendance", model="events.Attendance", user_fields=("viewer",), order=75,
               closing=Closing.RETAIN, reason="watch time is the attendance evidence meeting credit was paid for")
def live_attendance_export(user) -> list[dict]:
    return [{"session": a.session.event.title, "joined_at": iso(a.joined_at), "live_minutes": a.live_minutes,
             "replay_minutes": a.replay_minutes, "prompts_issued": a.prompts_issued,
             "prompts_answered": a.prompts_answered, "credited_at": iso(a.credited_at)}
            for a in Attendance.objects.filter(viewer=user).select_related("session__event").order_by("id")]
