"""The evidence pack: ZIP contents by name and content, the sign-in sheet's text read back from the PDF, the
summary's figures and flags, audited downloads for staff only."""

import csv
import io
import json
import zipfile
from datetime import time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook
from pdfminer.high_level import extract_text

from engage.audit.models import AuditEntry
from events.checkin.models import Scan
from events.evidence.services import evidence_pack_build, signin_sheet_download
from events.photos.services import photo_upload
from events.registrations.models import Registration
from events.surveys.services import survey_submit
from tests.events.factories import (  # noqa: F401
    answers_for,
    check_in,
    jpeg_bytes,
    make_doctor,
    make_event,
    make_registration,
    make_staff,
    make_survey,
    photo_storage_fixture,
    picture,
    upload,
)
from tests.factories import HospitalFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("photo_storage")]
AGENDA = [("item", {"start_time": time(14, 0), "title": title, "speaker": None, "minutes": minutes,
                    "academic": academic})
          for title, minutes, academic in (("2型糖尿病指南解读", 45, True), ("茶歇", 15, False),
                                           ("病例讨论：胰岛素起始", 40, True), ("产品介绍", 20, False))]


@pytest.fixture
def meeting():
    """A meeting that happened: three attendees, a no-show, a cancellation, a failed scan, two photos (one reused
    from another meeting), a survey with one answer."""
    staff = make_staff()
    event = make_event(starts_at=timezone.now() - timedelta(hours=3), agenda=AGENDA)
    hospital = HospitalFactory(name="北京协和医院")
    attendees = [make_doctor(real_name=name, hospital=hospital) for name in ("王建国", "李秀英", "欧阳明")]
    for i, doctor in enumerate(attendees):
        check_in(event, doctor, method="self" if i == 2 else "camera", staff=staff)
    no_show = make_doctor(real_name="赵缺席")
    make_registration(event, no_show)
    cancelled = make_doctor(real_name="钱取消")
    make_registration(event, cancelled, status=Registration.Status.CANCELLED)
    Scan.objects.create(event=event, staff=staff, method="wedge", raw_input="' OR 1=1 --", result="invalid",
                        http_status=404)
    other = make_event(starts_at=timezone.now() - timedelta(days=30))
    photo_upload(event=other, uploaded_by=staff, file=upload(jpeg_bytes(picture(101)), "last-month.jpg"))
    reused = photo_upload(event=event, uploaded_by=staff, file=upload(jpeg_bytes(picture(101), quality=70)))
    fresh = photo_upload(event=event, uploaded_by=staff, file=upload(jpeg_bytes(picture(102)), "room.jpg"))
    survey = make_survey(event=event)
    survey_submit(survey_id=survey.pk, doctor=attendees[0], answers=answers_for(survey))
    return {"event": event, "staff": staff, "attendees": attendees, "no_show": no_show, "reused": reused,
            "fresh": fresh, "survey": survey, "other": other}


def read_pack(meeting) -> zipfile.ZipFile:
    spool, filename = evidence_pack_build(event=meeting["event"], actor=meeting["staff"])
    assert filename.endswith("-evidence.zip")
    data = spool.read()
    spool.close()
    return zipfile.ZipFile(io.BytesIO(data))


def csv_rows(pack: zipfile.ZipFile, name: str) -> list[list[str]]:
    text = pack.read(name).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_pack_contains_every_part(meeting):
    pack = read_pack(meeting)
    reused, fresh, survey = meeting["reused"], meeting["fresh"], meeting["survey"]
    assert set(pack.namelist()) == {
        "summary.txt", "summary.json", "signin-sheet.pdf", "signin-sheet.xlsx", "agenda.csv", "checkin-log.csv",
        "photos/metadata.csv", f"photos/{reused.pk}.jpg", f"photos/{fresh.pk}.jpg", f"surveys/survey-{survey.pk}.xlsx",
    }
    with reused.image.open("rb") as handle:
        assert pack.read(f"photos/{reused.pk}.jpg") == handle.read()
    assert pack.testzip() is None


def test_signin_sheet_pdf_text_lists_exactly_the_attendees(meeting):
    pdf = read_pack(meeting).read("signin-sheet.pdf")
    assert pdf.startswith(b"%PDF")
    text = extract_text(io.BytesIO(pdf))
    for name in ("王建国", "李秀英", "欧阳明"):
        assert name in text
    assert "赵缺席" not in text and "钱取消" not in text
    event = meeting["event"]
    event.refresh_from_db()
    assert "北京协和医院" in text and event.title in text and event.approval_code in text
    checked_in = meeting["event"].checkins.order_by("checked_in_at").first().checked_in_at
    local = timezone.localtime(checked_in, timezone.get_fixed_timezone(480)).strftime("%Y-%m-%d %H:%M:%S")
    assert local in text


def test_signin_sheet_xlsx_rows(meeting):
    book = load_workbook(io.BytesIO(read_pack(meeting).read("signin-sheet.xlsx")))
    rows = [row for row in book.active.iter_rows(values_only=True) if row and isinstance(row[0], int)]
    assert [row[1] for row in rows] == ["王建国", "李秀英", "欧阳明"]
    assert {row[2] for row in rows} == {"北京协和医院"}
    assert all(row[3] and row[4] and row[5] and row[6] for row in rows)
    assert str(rows[2][6]) == str(Scan.Method.SELF.label)


def test_summary_figures_and_flags(meeting):
    with translation.override("en"):
        pack = read_pack(meeting)
    summary = json.loads(pack.read("summary.json"))
    assert f"Photo {meeting['reused'].pk}:" in pack.read("summary.txt").decode("utf-8-sig")
    assert (summary["registered"], summary["approved"], summary["checked_in"], summary["no_shows"],
            summary["cancelled"], summary["scans"]) == (4, 4, 3, 1, 1, 4)
    assert (summary["academic_minutes"], summary["total_minutes"], summary["academic_share_percent"]) == (85, 120, 70)
    assert summary["photos"] == 2
    assert any(f"{meeting['reused'].pk}" in flag and meeting["other"].title in flag for flag in summary["flags"])
    assert not any(f"Photo {meeting['fresh'].pk}:" in flag for flag in summary["flags"])


def test_summary_flags_academic_share_below_floor():
    event = make_event(agenda=[("item", {"start_time": time(9), "title": "产品介绍", "speaker": None, "minutes": 60,
                                         "academic": False})])
    spool, _name = evidence_pack_build(event=event, actor=make_staff("compliance"))
    summary = json.loads(zipfile.ZipFile(spool).read("summary.json"))
    assert summary["academic_share_percent"] == 0
    assert len(summary["flags"]) == 3  # share below the floor, no photos, nobody checked in


def test_photo_metadata_csv_carries_duplicate_flags(meeting):
    rows = csv_rows(read_pack(meeting), "photos/metadata.csv")
    header, body = rows[0], {row[0]: row for row in rows[1:]}
    duplicate = 14  # "Duplicate of (photo, meeting, distance)", after sha256 and phash
    assert header[12:14] == ["sha256", "phash"]
    reused, fresh = body[str(meeting["reused"].pk)], body[str(meeting["fresh"].pk)]
    assert meeting["other"].title in reused[duplicate] and reused[12] == meeting["reused"].sha256
    assert fresh[duplicate] == "" and fresh[2] == "room.jpg"


def test_checkin_log_has_every_scan_with_secrets_masked(meeting):
    rows = csv_rows(read_pack(meeting), "checkin-log.csv")[1:]
    assert len(rows) == Scan.objects.filter(event=meeting["event"]).count() == 4
    assert sorted(row[3] for row in rows) == sorted(["无法识别的码", "已签到", "已签到", "已签到"])  # labels, not codes
    secrets = set(meeting["event"].tickets.values_list("secret", flat=True))
    assert not any(secret in ",".join(row) for row in rows for secret in secrets)
    assert any("' OR 1=1 --" in row for row in rows)


def test_agenda_and_survey_parts(meeting):
    pack = read_pack(meeting)
    agenda = csv_rows(pack, "agenda.csv")[1:]
    assert [(row[1], row[3]) for row in agenda] == [("2型糖尿病指南解读", "45"), ("茶歇", "15"),
                                                     ("病例讨论：胰岛素起始", "40"), ("产品介绍", "20")]
    book = load_workbook(io.BytesIO(pack.read(f"surveys/survey-{meeting['survey'].pk}.xlsx")))
    assert len(book.worksheets) == 3
    responses = list(book.worksheets[1].iter_rows(values_only=True))
    assert len(responses) == 2 and "王建国" in responses[1]


def test_downloads_are_audited(meeting):
    read_pack(meeting)
    download = signin_sheet_download(event=meeting["event"], actor=meeting["staff"], fmt="pdf")
    assert download.content.startswith(b"%PDF") and download.filename.endswith(".pdf")
    actions = list(AuditEntry.objects.filter(object_id=str(meeting["event"].pk)).values_list("action", flat=True))
    assert "events.evidence_pack_download" in actions and "events.signin_sheet_download" in actions


def test_admin_downloads_for_staff_only(client, meeting):
    event = meeting["event"]
    urls = [reverse("evidence_pack", args=[event.pk]), reverse("evidence_signin", args=[event.pk, "pdf"]),
            reverse("evidence_signin", args=[event.pk, "xlsx"]), reverse("evidence_event", args=[event.pk]),
            reverse("evidence_index"), reverse("event_photos", args=[event.pk]), reverse("event_photos_index")]
    client.force_login(meeting["attendees"][0])
    for url in urls:
        assert client.get(url).status_code in (302, 403), url
    client.force_login(make_staff("compliance"))
    for url in urls:
        assert client.get(url).status_code == 200, url
    response = client.get(urls[0])
    assert response["Content-Type"] == "application/zip"
    assert "signin-sheet.pdf" in zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
    assert client.get(reverse("evidence_signin", args=[event.pk, "exe"])).status_code == 400
    page = client.get(reverse("event_photos", args=[event.pk])).content.decode()
    assert 'data-testid="photo-flag"' in page and meeting["other"].title in page


def test_photo_taken_elsewhere_or_at_another_time_is_flagged():
    from PIL import ExifTags, Image

    starts = timezone.now() - timedelta(hours=2)
    event = make_event(starts_at=starts, venue_latitude="31.230400", venue_longitude="121.473700")
    exif = Image.Exif()
    exif[ExifTags.IFD.Exif] = {ExifTags.Base.DateTimeOriginal: "2025:01:15 10:00:00"}
    exif[ExifTags.IFD.GPSInfo] = {  # Beijing, about 1,000 km from the Shanghai venue
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (39.0, 54.0, 27.0),
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (116.0, 23.0, 50.0),
    }
    staff = make_staff()
    photo = photo_upload(event=event, uploaded_by=staff, file=upload(jpeg_bytes(picture(55), exif=exif)))
    with translation.override("en"):
        spool, _name = evidence_pack_build(event=event, actor=staff)
        pack = zipfile.ZipFile(spool)
    flags = [flag for flag in json.loads(pack.read("summary.json"))["flags"] if flag.startswith(f"Photo {photo.pk}:")]
    assert len(flags) == 2
    assert "outside the meeting time" in flags[0] and "2025-01-15 10:00:00" in flags[0]
    assert "km from the venue" in flags[1]
