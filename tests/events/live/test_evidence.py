"""A meeting's evidence pack carries its live session: attendance (Excel), the whole chat transcript (deleted
messages too), the Q&A, poll results and the pharmacovigilance cases opened in the room."""

import csv
import io
import zipfile

import pytest
from openpyxl import load_workbook

from engage.reminders.services import pv_terms_seed_defaults
from events.evidence.services import evidence_pack_build
from events.live import services
from events.live.exporters import attendance_xlsx
from tests.events.factories import make_staff
from tests.events.live.core_helpers import registered_doctor

pytestmark = pytest.mark.django_db


def rows_of(pack: zipfile.ZipFile, name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(pack.read(name).decode("utf-8-sig"))))


def test_evidence_pack_contains_the_live_session(session, viewer, moderator):
    pv_terms_seed_defaults()
    services.heartbeat_record(session=session, viewer=viewer)
    services.chat_post(session=session, author=viewer, text="我的患者用药后头晕")
    removed = services.chat_post(session=session, author=moderator, text="广告链接")
    services.chat_delete(message=removed, actor=moderator)
    question = services.question_ask(session=session, author=viewer, text="老年患者剂量？", anonymous=True)
    services.question_moderate(question=question, actor=moderator, action="approve")
    poll = services.poll_create(session=session, actor=moderator, question="首选方案？", options=["甲", "乙"])
    services.poll_open(poll=poll, actor=moderator)
    services.poll_vote(poll=poll, user=viewer, option_ids=[poll.options.get(text="乙").pk])
    other = registered_doctor(session)
    services.poll_vote(poll=poll, user=other, option_ids=[poll.options.get(text="乙").pk])

    spool, _name = evidence_pack_build(event=session.event, actor=make_staff("compliance"))
    with spool, zipfile.ZipFile(spool) as pack:
        names = set(pack.namelist())
        assert {"live/attendance.xlsx", "live/chat-transcript.csv", "live/questions.csv", "live/polls.csv",
                "live/pv-cases.csv"} <= names
        chat = rows_of(pack, "live/chat-transcript.csv")
        assert [r[2] for r in chat[1:]] == ["我的患者用药后头晕", "广告链接"]
        assert chat[2][3] and chat[1][5]  # the deleted message says when; the first opened a PV case
        questions = rows_of(pack, "live/questions.csv")
        assert questions[1][3] == "老年患者剂量？" and questions[1][1]  # the author is kept in the evidence
        polls = {r[6]: r[7] for r in rows_of(pack, "live/polls.csv")[1:]}
        assert polls == {"甲": "0", "乙": "2"}
        cases = rows_of(pack, "live/pv-cases.csv")
        assert len(cases) == 2 and "头晕" in cases[1][4] and "chat" in cases[1][3]
        book = load_workbook(io.BytesIO(pack.read("live/attendance.xlsx")))
        values = [[c.value for c in row] for row in book.active.iter_rows()]
        assert values[0][0] == session.event.title
        assert values[4][3] == 1  # the viewer's live minutes


def test_meeting_without_live_session_has_no_live_files():
    from tests.events.factories import make_event

    event = make_event()
    spool, _name = evidence_pack_build(event=event, actor=make_staff("compliance"))
    with spool, zipfile.ZipFile(spool) as pack:
        assert not [n for n in pack.namelist() if n.startswith("live/")]


def test_attendance_workbook_lists_every_viewer(session, viewer):
    services.heartbeat_record(session=session, viewer=viewer)
    other = registered_doctor(session)
    services.heartbeat_record(session=session, viewer=other)
    sheet = load_workbook(io.BytesIO(attendance_xlsx(session))).active
    assert sheet.max_row == 6  # title, times, blank, headings, two viewers


def test_attendance_report_page_and_export_for_staff(session, viewer):
    from django.test import Client

    from engage.audit.models import AuditEntry

    services.heartbeat_record(session=session, viewer=viewer)
    staff = Client()
    staff.force_login(make_staff("compliance"))
    page = staff.get(f"/admin/meetings/live/{session.pk}/attendance/")
    assert page.status_code == 200 and "live-attendance" in page.content.decode()
    assert "live-push-url" not in page.content.decode()  # compliance does not manage streams
    download = staff.get(f"/admin/meetings/live/{session.pk}/attendance.xlsx")
    assert download.status_code == 200 and download["Content-Disposition"].endswith('attendance.xlsx"')
    assert load_workbook(io.BytesIO(download.content)).active.max_row == 5
    assert AuditEntry.objects.filter(action="events.live_attendance_export").count() == 1
    doctor = Client()
    doctor.force_login(viewer)
    assert doctor.get(f"/admin/meetings/live/{session.pk}/attendance.xlsx").status_code == 302


def test_live_session_is_set_up_in_the_admin_through_the_service():
    from django.test import Client

    from engage.audit.models import AuditEntry
    from events.live.models import LiveSession
    from tests.events.factories import make_event

    event = make_event(event_type="webinar")
    staff = Client()
    staff.force_login(make_staff("marketing"))
    form = {"event": event.pk, "provider": "plain", "app_name": "live", "stream_name": "webinar-1",
            "plain_url": "/static/live/demo.m3u8", "registration_required": "on", "questions_moderated": "on",
            "credit_min_live_minutes": "30", "credit_min_share": ""}
    response = staff.post("/admin/live_sessions/new/", form)
    assert response.status_code == 302
    session = LiveSession.objects.get(event=event)
    assert (session.stream_name, session.credit_min_live_minutes) == ("webinar-1", 30)
    assert AuditEntry.objects.filter(action="events.live_session_save").exists()
    refused = staff.post(f"/admin/live_sessions/edit/{session.pk}/", {**form, "credit_min_share": "150"})
    assert refused.status_code == 200
    assert LiveSession.objects.get(pk=session.pk).credit_min_share is None
