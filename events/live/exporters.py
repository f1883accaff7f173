"""Files of a live session: the attendance report (Excel) and, for the meeting's evidence pack, the chat transcript,
the Q&A, the poll results and the pharmacovigilance cases opened in the room (CSV with a BOM, so Excel reads the
Chinese). Times in Asia/Shanghai."""

import csv
import io
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from engage.reminders.models import PharmacovigilanceCase
from events.live.models import ChatMessage, LiveSession, Poll, Question
from events.live.selectors import attendance_report, poll_counts

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _local(value) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _csv(header: list, rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def _author(user) -> str:
    profile = getattr(user, "doctor_profile", None)
    return profile.real_name if profile is not None else (user.display_name or user.username)


def attendance_headings() -> list[str]:
    return [_("Doctor"), _("Hospital"), _("Joined"), _("Live minutes"), _("Replay minutes"), _("Prompts issued"),
            _("Prompts answered"), _("Questions asked"), _("Polls answered"), _("Credit paid")]


def attendance_xlsx(session: LiveSession) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = _("Attendance")[:31]
    sheet.append([session.event.title])
    sheet.append([_("Went live"), _local(session.started_at), _("Ended"), _local(session.ended_at)])
    sheet.append([])
    sheet.append(attendance_headings())
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for row in attendance_report(session=session):
        sheet.append([row.name, row.hospital, _local(row.joined_at), row.live_minutes, row.replay_minutes,
                      row.prompts_issued, row.prompts_answered, row.questions_asked, row.polls_answered,
                      _("Yes") if row.credited else _("No")])
    for column, width in zip("ABCDEFGHIJ", (16, 30, 20, 12, 12, 12, 12, 12, 12, 10), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def chat_transcript_csv(session: LiveSession) -> bytes:
    """Every message, deleted ones included with who deleted them: the whole transcript is the evidence."""
    messages = (ChatMessage.objects.filter(session=session)
                .select_related("author__doctor_profile", "deleted_by").order_by("created_at", "id"))
    return _csv([_("Sent"), _("Author"), _("Message"), _("Deleted"), _("Deleted by"), _("PV case")],
                ([_local(m.created_at), _author(m.author), m.text, _local(m.deleted_at),
                  _author(m.deleted_by) if m.deleted_by_id else "", m.pv_case_id or ""] for m in messages))


def questions_csv(session: LiveSession) -> bytes:
    questions = (Question.objects.filter(session=session).select_related("author__doctor_profile")
                 .order_by("created_at", "id"))
    return _csv([_("Asked"), _("Author"), _("Anonymous to the audience"), _("Question"), _("State"), _("Pinned"),
                 _("Votes"), _("PV case")],
                ([_local(q.created_at), _author(q.author), _("Yes") if q.anonymous else _("No"), q.text,
                  q.get_state_display(), _("Yes") if q.pinned else _("No"), q.score, q.pv_case_id or ""]
                 for q in questions))


def polls_csv(session: LiveSession) -> bytes:
    rows = []
    for poll in Poll.objects.filter(session=session).prefetch_related("options").order_by("id"):
        counts = poll_counts(poll)
        for option in poll.options.all():
            rows.append([poll.pk, poll.question, poll.get_kind_display(), poll.get_state_display(),
                         _local(poll.opened_at), _local(poll.closed_at), option.text, counts.get(option.pk, 0)])
    return _csv([_("Poll"), _("Question"), _("Kind"), _("State"), _("Opened"), _("Closed"), _("Option"), _("Votes")],
                rows)


def pv_cases_of(session: LiveSession):
    ids = set(ChatMessage.objects.filter(session=session, pv_case__isnull=False).values_list("pv_case_id", flat=True))
    ids |= set(Question.objects.filter(session=session, pv_case__isnull=False).values_list("pv_case_id", flat=True))
    return PharmacovigilanceCase.objects.filter(pk__in=ids).select_related("doctor__doctor_profile").order_by("id")


def pv_cases_csv(session: LiveSession) -> bytes:
    return _csv([_("PV case"), _("Received"), _("Doctor"), _("Where"), _("Matched keywords"), _("Possibly serious"),
                 _("Status")],
                ([c.pk, _local(c.received_at), _author(c.doctor) if c.doctor_id else "", c.context,
                  "、".join(c.matched_keywords), _("Yes") if c.serious else _("No"), c.get_status_display()]
                 for c in pv_cases_of(session)))


def live_evidence_files(event) -> list[tuple[str, bytes]]:
    """(name in the pack, content) of the meeting's live session; none without one."""
    session = LiveSession.objects.filter(event=event).select_related("event").first()
    if session is None:
        return []
    return [("live/attendance.xlsx", attendance_xlsx(session)),
            ("live/chat-transcript.csv", chat_transcript_csv(session)),
            ("live/questions.csv", questions_csv(session)), ("live/polls.csv", polls_csv(session)),
            ("live/pv-cases.csv", pv_cases_csv(session))]
