"""The evidence pack of a meeting: what an inspector asks for, built from the rows the meeting left behind.

One ZIP per meeting (streamed from a SpooledTemporaryFile, so a pack with hundreds of photos never sits in
memory) containing:

    summary.txt / summary.json   registered, approved, checked in, no-shows, academic minutes share, flags
    signin-sheet.pdf / .xlsx     name, hospital, department, title, check-in time (Asia/Shanghai) and method
    agenda.csv                   the agenda with minutes and whether each item is academic
    checkin-log.csv              every scan, failed ones included (ticket secrets masked)
    photos/metadata.csv          every photo with server/EXIF time, GPS, camera, hashes and duplicate flags
    photos/<id>-<name>           the photos themselves
    surveys/survey-<id>.xlsx     the results of each of the meeting's surveys
    live/…                       a live session's attendance report, chat transcript, Q&A, poll results and the
                                 pharmacovigilance cases opened in its room (events.live.exporters)

The PDF uses reportlab's built-in CID font STSong-Light (no font file to ship; readers substitute a Song
typeface and the text stays extractable). Every download is audit-logged.
"""

import csv
import io
import json
import shutil
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from tempfile import SpooledTemporaryFile
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from engage.audit.services import audit_log
from engage.core.errors import DomainError
from engage.core.geo import distance_m
from events.checkin.models import CheckIn, Scan
from events.live.exporters import live_evidence_files
from events.pages.models import EventPage
from events.pages.selectors import event_academic_share
from events.photos.selectors import photos_of_event
from events.registrations.models import Registration
from events.surveys.exporters import survey_results_xlsx
from events.surveys.selectors import survey_results

SHANGHAI = ZoneInfo("Asia/Shanghai")
PDF_FONT = "STSong-Light"
SPOOL_IN_MEMORY = 8 * 1024 * 1024
PHOTO_TIME_MARGIN = timedelta(hours=3)  # EXIF times further than this from the meeting are flagged
PHOTO_DISTANCE_MARGIN_M = 1000  # EXIF positions further than the radius plus this from the venue are flagged


def _local(value: datetime | None) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S") if value else ""


@dataclass(frozen=True)
class SigninRow:
    name: str
    hospital: str
    department: str
    title: str
    checked_in_at: str  # Asia/Shanghai
    method: str


def signin_rows(event: EventPage) -> list[SigninRow]:
    """The meeting's valid (not annulled) check-ins in check-in order."""
    checkins = (CheckIn.objects.filter(event=event, annulled_at__isnull=True)
                .select_related("registration__doctor__doctor_profile__hospital",
                                "registration__doctor__doctor_profile__department")
                .order_by("checked_in_at", "id"))
    rows = []
    for checkin in checkins:
        doctor = checkin.registration.doctor
        profile = getattr(doctor, "doctor_profile", None)
        rows.append(SigninRow(
            name=profile.real_name if profile else (doctor.display_name or doctor.username),
            hospital=profile.hospital.name if profile else "",
            department=profile.department.name if profile else "",
            title=str(profile.get_title_display()) if profile else "",
            checked_in_at=_local(checkin.checked_in_at),
            method=str(checkin.get_method_display()),
        ))
    return rows


def _signin_headings() -> list[str]:
    return ["#", pgettext("person", "Name"), _("Hospital"), _("Department"), pgettext("doctor", "Title"),
            _("Checked in (Beijing time)"),
            _("Method")]


def _event_lines(event: EventPage) -> list[tuple[str, str]]:
    venue = " ".join(part for part in (event.venue_name, event.venue_address) if part)
    return [(_("Meeting"), event.title), (_("Time"), f"{_local(event.starts_at)} – {_local(event.ends_at)}"),
            (_("Venue"), venue or event.online_url), (_("Approval code"), event.approval_code or "–")]


def signin_sheet_pdf(event: EventPage, rows: list[SigninRow]) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    cell = ParagraphStyle("cell", fontName=PDF_FONT, fontSize=9, leading=12, wordWrap="CJK")
    heading = ParagraphStyle("heading", parent=cell, fontSize=16, leading=22, spaceAfter=4)
    line = ParagraphStyle("line", parent=cell, fontSize=10, leading=14)

    def text(value) -> Paragraph:
        return Paragraph(str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"), cell)

    generated = _local(timezone.now())
    story = [Paragraph(text(_("Sign-in sheet")).text, heading)]
    story += [Paragraph(f"{text(label).text}：{text(value).text}", line) for label, value in _event_lines(event)]
    story += [Paragraph(text(_("%(n)d attendees checked in. Generated %(at)s (Beijing time).")
                             % {"n": len(rows), "at": generated}).text, line), Spacer(1, 4 * mm)]
    data = [[text(h) for h in _signin_headings()]]
    data += [[text(i), text(r.name), text(r.hospital), text(r.department), text(r.title), text(r.checked_in_at),
              text(r.method)] for i, r in enumerate(rows, start=1)]
    widths = [p * mm for p in (10, 30, 70, 35, 45, 40, 30)]
    table = LongTable(data, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]))
    story.append(table)

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont(PDF_FONT, 8)
        canvas.drawRightString(doc.pagesize[0] - 12 * mm, 8 * mm, f"{event.title} · {doc.page}")
        canvas.restoreState()

    out = io.BytesIO()
    document = SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                                 topMargin=12 * mm, bottomMargin=14 * mm, title=f"{_('Sign-in sheet')} {event.title}",
                                 author="Engage")
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


def signin_sheet_xlsx(event: EventPage, rows: list[SigninRow]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = _("Sign-in sheet")[:31]
    for label, value in _event_lines(event):
        sheet.append([label, value])
    sheet.append([])
    sheet.append(_signin_headings())
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for i, row in enumerate(rows, start=1):
        sheet.append([i, row.name, row.hospital, row.department, row.title, row.checked_in_at, row.method])
    for column, width in zip("ABCDEFG", (5, 14, 32, 16, 22, 20, 14), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@dataclass
class EvidenceSummary:
    event_id: int
    title: str
    starts_at: str
    ends_at: str
    registered: int  # active registrations: confirmed, awaiting approval, waiting list
    approved: int  # confirmed
    waitlisted: int
    cancelled: int
    checked_in: int
    no_shows: int  # confirmed without a valid check-in
    annulled_checkins: int
    scans: int
    academic_minutes: int
    total_minutes: int
    academic_share_percent: int | None
    academic_floor_percent: int
    photos: int
    flags: list[str] = field(default_factory=list)


def _photo_remarks(photo, event: EventPage) -> list[str]:
    remarks = []
    for flag in photo.flags.all():
        other = flag.similar_to
        remarks.append(_("looks like photo %(photo)d of meeting “%(meeting)s” (distance %(d)d)")
                       % {"photo": other.pk, "meeting": other.event.title, "d": flag.distance})
    if photo.exif_taken_at and not (event.starts_at - PHOTO_TIME_MARGIN <= photo.exif_taken_at
                                    <= event.ends_at + PHOTO_TIME_MARGIN):
        remarks.append(_("taken %(at)s, outside the meeting time") % {"at": _local(photo.exif_taken_at)})
    if (photo.exif_latitude is not None and event.venue_latitude is not None
            and event.venue_longitude is not None):
        metres = distance_m(float(photo.exif_latitude), float(photo.exif_longitude), float(event.venue_latitude),
                            float(event.venue_longitude))
        if metres > event.venue_radius_m + PHOTO_DISTANCE_MARGIN_M:
            remarks.append(_("taken %(km).1f km from the venue") % {"km": metres / 1000})
    return remarks


def evidence_summary(event: EventPage, *, photos=None) -> EvidenceSummary:
    photos = list(photos_of_event(event)) if photos is None else photos
    statuses = dict(Registration.objects.filter(event=event).values_list("status").annotate(n=Count("id")))
    checkins = CheckIn.objects.filter(event=event)
    valid = checkins.filter(annulled_at__isnull=True)
    checked_in = valid.count()
    confirmed = statuses.get(Registration.Status.CONFIRMED, 0)
    attended = valid.filter(registration__status=Registration.Status.CONFIRMED).values("registration").distinct()
    share = event_academic_share(event=event)
    summary = EvidenceSummary(
        event_id=event.pk, title=event.title, starts_at=_local(event.starts_at), ends_at=_local(event.ends_at),
        registered=sum(statuses.get(s, 0) for s in Registration.ACTIVE), approved=confirmed,
        waitlisted=statuses.get(Registration.Status.WAITLISTED, 0),
        cancelled=statuses.get(Registration.Status.CANCELLED, 0), checked_in=checked_in,
        no_shows=max(confirmed - attended.count(), 0), annulled_checkins=checkins.count() - checked_in,
        scans=Scan.objects.filter(event=event).count(), academic_minutes=share.academic_minutes,
        total_minutes=share.total_minutes, academic_share_percent=share.percent, academic_floor_percent=share.floor,
        photos=len(photos),
    )
    if share.below_floor:
        summary.flags.append(_("Academic share of the agenda %(share)s%% is below the floor of %(floor)d%%.")
                             % {"share": share.percent if share.percent is not None else 0, "floor": share.floor})
    if not photos:
        summary.flags.append(_("No on-site photos."))
    if checked_in == 0:
        summary.flags.append(_("Nobody checked in."))
    for photo in photos:
        for remark in _photo_remarks(photo, event):
            summary.flags.append(_("Photo %(photo)d: %(remark)s.") % {"photo": photo.pk, "remark": remark})
    if summary.annulled_checkins:
        summary.flags.append(_("%(n)d check-in(s) annulled.") % {"n": summary.annulled_checkins})
    return summary


def summary_text(summary: EvidenceSummary) -> str:
    lines = [
        f"{_('Meeting')}: {summary.title} (#{summary.event_id})",
        f"{_('Time')}: {summary.starts_at} – {summary.ends_at}",
        f"{_('Registered')}: {summary.registered}",
        f"{_('Approved')}: {summary.approved}",
        f"{_('Waiting list')}: {summary.waitlisted}",
        f"{_('Cancelled')}: {summary.cancelled}",
        f"{_('Checked in')}: {summary.checked_in}",
        f"{_('No-shows')}: {summary.no_shows}",
        f"{_('Scans')}: {summary.scans}",
        f"{_('Academic minutes')}: {summary.academic_minutes} / {summary.total_minutes}"
        + (f" ({summary.academic_share_percent}%)" if summary.academic_share_percent is not None else ""),
        f"{_('Photos')}: {summary.photos}",
        "",
        f"{_('Flags')}:",
        *([f"- {flag}" for flag in summary.flags] or [f"- {_('none')}"]),
    ]
    return "\n".join(lines) + "\n"


def _csv_bytes(header: list[str], rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")  # the BOM makes Excel read the Chinese as UTF-8


def agenda_csv(event: EventPage) -> bytes:
    rows = []
    for block in event.agenda or []:
        value = block.value
        speaker = value.get("speaker")
        rows.append([value.get("start_time").strftime("%H:%M") if value.get("start_time") else "",
                     value.get("title", ""), str(speaker) if speaker else "", value.get("minutes") or 0,
                     _("yes") if value.get("academic") else _("no")])
    return _csv_bytes([_("Start"), _("Title"), _("Speaker"), _("Minutes"), _("Academic")], rows)


def checkin_log_rows(event: EventPage):
    scans = (Scan.objects.filter(event=event).select_related("staff", "ticket__registration__doctor__doctor_profile")
             .order_by("server_time", "id"))
    for scan in scans.iterator(chunk_size=1000):
        doctor = scan.ticket.registration.doctor if scan.ticket_id else None
        profile = getattr(doctor, "doctor_profile", None) if doctor else None
        yield [scan.pk, _local(scan.server_time), _local(scan.client_time), scan.get_result_display(),
               scan.get_method_display(),
               str(scan.staff) if scan.staff_id else "", scan.device, scan.ticket_id or "",
               (profile.real_name if profile else str(doctor)) if doctor else "", scan.masked_input[:80],
               scan.nonce, scan.ip_address or "", scan.latitude if scan.latitude is not None else "",
               scan.longitude if scan.longitude is not None else "", scan.http_status]


def checkin_log_csv(event: EventPage) -> bytes:
    return _csv_bytes(
        ["scan", _("Server time"), _("Client time"), _("Result"), _("Method"), _("Staff"), _("Device"), _("Ticket"),
         _("Doctor"), _("Input"), "nonce", _("IP address"), _("Latitude"), _("Longitude"), "HTTP"],
        checkin_log_rows(event))


def _photo_filename(photo) -> str:
    extension = photo.image.name.rsplit(".", 1)[-1] if "." in photo.image.name else "jpg"
    return f"photos/{photo.pk}.{extension}"


def photos_csv(event: EventPage, photos) -> bytes:
    rows = []
    for photo in photos:
        rows.append([
            photo.pk, _photo_filename(photo), photo.original_name, photo.caption, str(photo.uploaded_by),
            _local(photo.uploaded_at), _local(photo.exif_taken_at), photo.exif_latitude or "",
            photo.exif_longitude or "", photo.exif_camera, f"{photo.width}x{photo.height}", photo.size,
            photo.sha256, photo.phash,
            " | ".join(f"#{flag.similar_to_id} ({flag.similar_to.event.title}, {flag.distance})"
                       for flag in photo.flags.all()),
            "; ".join(_photo_remarks(photo, event)),
        ])
    return _csv_bytes(
        ["photo", _("File"), _("Original name"), _("Caption"), _("Uploaded by"), _("Uploaded (Beijing time)"),
         _("Taken (EXIF, Beijing time)"), _("Latitude"), _("Longitude"), _("Camera"), _("Pixels"), _("Bytes"),
         "sha256", "phash", _("Duplicate of (photo, meeting, distance)"), _("Flags")], rows)


@dataclass(frozen=True)
class Download:
    content: bytes
    filename: str
    content_type: str


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _basename(event: EventPage) -> str:
    return f"meeting-{event.pk}-{slugify(event.slug)[:40] or 'evidence'}"


def signin_sheet_download(*, event: EventPage, actor, fmt: str) -> Download:
    """The sign-in sheet as `pdf` or `xlsx`; audited."""
    if fmt not in {"pdf", "xlsx"}:
        raise DomainError("unknown_format", _("Choose PDF or Excel."))
    rows = signin_rows(event)
    content = signin_sheet_pdf(event, rows) if fmt == "pdf" else signin_sheet_xlsx(event, rows)
    with transaction.atomic():
        audit_log(actor=actor, action="events.signin_sheet_download", obj=event,
                  after={"format": fmt, "attendees": len(rows)})
    return Download(content, f"{_basename(event)}-signin.{fmt}", "application/pdf" if fmt == "pdf" else XLSX)


def evidence_pack_build(*, event: EventPage, actor) -> tuple[SpooledTemporaryFile, str]:
    """The meeting's evidence ZIP in a spooled temporary file (memory up to 8 MB, then disk), positioned at 0,
    and its file name. The caller streams and closes it. Audited with the summary's figures."""
    photos = list(photos_of_event(event))
    rows = signin_rows(event)
    summary = evidence_summary(event, photos=photos)
    spool = SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # handed to the response, which closes it
    try:
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as pack:
            pack.writestr("signin-sheet.pdf", signin_sheet_pdf(event, rows))
            pack.writestr("signin-sheet.xlsx", signin_sheet_xlsx(event, rows))
            pack.writestr("agenda.csv", agenda_csv(event))
            pack.writestr("checkin-log.csv", checkin_log_csv(event))
            pack.writestr("photos/metadata.csv", photos_csv(event, photos))
            for photo in photos:
                try:
                    source = photo.image.open("rb")
                except FileNotFoundError:
                    summary.flags.append(_("Photo %(photo)d: file missing.") % {"photo": photo.pk})
                    continue
                info = zipfile.ZipInfo(_photo_filename(photo),
                                       date_time=photo.uploaded_at.astimezone(SHANGHAI).timetuple()[:6])
                with source, pack.open(info, "w") as target:  # stored: JPEGs do not compress
                    shutil.copyfileobj(source, target, 1024 * 1024)
            for survey in event.surveys.all().order_by("pk"):
                pack.writestr(f"surveys/survey-{survey.pk}.xlsx", survey_results_xlsx(survey_results(survey=survey)))
            for name, content in live_evidence_files(event):
                pack.writestr(name, content)
            pack.writestr("summary.txt", summary_text(summary).encode("utf-8-sig"))
            pack.writestr("summary.json", json.dumps(asdict(summary), ensure_ascii=False, indent=2))
        spool.seek(0)
        with transaction.atomic():
            audit_log(actor=actor, action="events.evidence_pack_download", obj=event, after={
                "registered": summary.registered, "checked_in": summary.checked_in, "photos": summary.photos,
                "flags": len(summary.flags)})
    except BaseException:
        spool.close()
        raise
    return spool, f"{_basename(event)}-evidence.zip"
