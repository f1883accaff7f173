"""Builders for the meetings tests, shared by every events test module.

    event = make_event(capacity=50, approval_required=True)      # published EventPage with its open quota
    doctor = make_doctor()                                        # verified doctor (tests.factories.make_doctor)
    quota = make_quota(event, seats=10, rep=make_rep())           # rep quota with an invitation code
    registration = make_registration(event, doctor)               # confirmed, seat held, ticket issued
"""

import io
import random
import struct
import zlib
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw

from cms.pages.models import HomePage
from engage.core.storage import PrivateFileSystemStorage
from events.checkin.models import CheckIn, Scan
from events.pages.models import EventIndexPage, EventPage
from events.photos.models import Photo
from events.registrations.models import Quota, Registration, Ticket
from events.surveys.models import Survey, SurveyQuestion
from members.points.models import PointsRule
from tests.factories import make_doctor, user_with_role


def make_event_index() -> EventIndexPage:
    """The meeting index under the home page (created and published once)."""
    existing = EventIndexPage.objects.first()
    if existing is not None:
        return existing
    index = EventIndexPage(title="学术会议", slug="meetings")
    HomePage.objects.get().add_child(instance=index)
    index.save_revision().publish()
    return index


def make_event(*, publish: bool = True, **fields) -> EventPage:
    """A meeting under the index, published unless `publish=False`, starting in a week unless told otherwise,
    with its open quota holding the whole capacity. Any EventPage field may be passed; `audience_departments`
    takes a list of departments."""
    now = timezone.now()
    departments = fields.pop("audience_departments", None)
    starts_at = fields.pop("starts_at", now + timedelta(days=7))
    n = EventPage.objects.count() + 1
    values = {
        "title": f"糖尿病诊疗进展研讨会 {n}",
        "slug": f"meeting-{n}-{int(now.timestamp() * 1000) % 10**8}",
        "topic": "2型糖尿病的综合管理",
        "venue_name": "上海国际会议中心",
        "venue_address": "上海市浦东新区滨江大道2727号",
        "province": "上海市",
        "city": "上海市",
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(hours=3),
        "capacity": 100,
    }
    values.update(fields)
    page = EventPage(**values)
    make_event_index().add_child(instance=page)
    if departments is not None:
        page.audience_departments.set(departments)
    if publish:
        publish_event(page)
    else:
        page.save_revision()
    page = EventPage.objects.get(pk=page.pk)
    from events.registrations.services import quota_open_sync

    quota_open_sync(event=page)
    return page


def publish_event(page: EventPage) -> EventPage:
    """Takes the page's current state through the real review workflow (medical, then compliance approval by the
    test's reviewers); the final approval publishes it. Use after changing a live meeting's fields too."""
    from tests.cms.factories import approve_and_publish

    return approve_and_publish(page)


def make_rep(**kwargs):
    return user_with_role("rep", **kwargs)


def make_staff(role: str = "marketing", **kwargs):
    return user_with_role(role, **kwargs)


def make_quota(event: EventPage, *, seats: int, rep=None, province: str = "", label: str = "") -> Quota:
    """A region quota (`province=`) or rep quota (`rep=`) allocated from the open quota through the service."""
    from events.registrations.services import quota_allocate

    return quota_allocate(event=event, actor=None, seats=seats, rep=rep, province=province, label=label)


def open_quota(event: EventPage) -> Quota:
    return Quota.objects.get(event=event, kind=Quota.Kind.OPEN)


def make_registration(event: EventPage, doctor, status: str = "confirmed", *, quota: Quota | None = None,
                      source: str = "self") -> Registration:
    """A registration row written directly (no eligibility, window or notification): a confirmed or pending
    one holds a seat of its quota (the open quota by default) and a confirmed one has a ticket."""
    from django.db.models import F

    from events.registrations.tickets import ticket_secret_new

    quota = quota or open_quota(event)
    holds = status in (Registration.Status.CONFIRMED, Registration.Status.PENDING)
    if holds:
        Quota.objects.filter(pk=quota.pk).update(taken=F("taken") + 1)
    registration = Registration.objects.create(event=event, doctor=doctor, quota=quota, holds_seat=holds,
                                               status=status, source=source)
    if status == Registration.Status.CONFIRMED:
        Ticket.objects.create(registration=registration, event=event, secret=ticket_secret_new())
    return registration


def make_ticket(event: EventPage | None = None, doctor=None, **event_fields) -> Ticket:
    """A valid ticket of a confirmed registration (a new meeting and verified doctor unless given)."""
    event = event or make_event(**event_fields)
    registration = make_registration(event, doctor or make_doctor())
    return registration.ticket


CHECKIN_URL = "/api/v1/events/{}/checkins"


def open_event(**fields):
    """A meeting starting in 30 minutes: check-in (open 60 minutes before the start) is open now."""
    fields.setdefault("starts_at", timezone.now() + timedelta(minutes=30))
    return make_event(**fields)


def ticket_for(event, doctor=None, **profile):
    """A confirmed registration's ticket for a new verified doctor (or `doctor`)."""
    return make_registration(event, doctor or make_doctor(**profile)).ticket


def attend_rule(points: int = 50) -> PointsRule:
    rule, _ = PointsRule.objects.update_or_create(code="attend_meeting", defaults={
        "name": "参加学术会议", "points": points, "daily_cap": None, "yearly_cap": None, "enabled": True,
        "active_from": None, "active_until": None})
    return rule


def post_checkin(client, event, **payload):
    return client.post(CHECKIN_URL.format(event.pk), payload, content_type="application/json")


@pytest.fixture(name="photo_storage")
def photo_storage_fixture(tmp_path, monkeypatch):
    """Photos land in a temporary directory for the test (the field resolved its storage at import)."""
    storage = PrivateFileSystemStorage(location=tmp_path / "private")
    monkeypatch.setattr(Photo._meta.get_field("image"), "storage", storage)
    return storage


def picture(seed: int, size: tuple[int, int] = (800, 600)) -> Image.Image:
    """A picture with structure (shapes on a gradient) that differs from seed to seed."""
    rng = random.Random(seed)
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    width, height = size
    for y in range(height):
        shade = int(255 * y / height)
        draw.line([(0, y), (width, y)], fill=(shade, rng.randint(0, 40) + shade // 2, 255 - shade))
    for _ in range(12):
        x0, y0 = rng.randint(0, width - 50), rng.randint(0, height - 50)
        box = [x0, y0, x0 + rng.randint(40, width // 2), y0 + rng.randint(40, height // 2)]
        colour = tuple(rng.randint(0, 255) for _ in range(3))
        (draw.rectangle if rng.random() < 0.5 else draw.ellipse)(box, fill=colour)
    return image


def jpeg_bytes(image: Image.Image, *, quality: int = 90, exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=exif if exif is not None else Image.Exif())
    return out.getvalue()


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A small, valid-looking PNG whose header claims `width`×`height` pixels (a decompression bomb)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\x00" * 1024)  # a truncated stream of zero rows
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


DEFAULT_QUESTIONS = [
    ("single", "讲者的内容对您的临床工作是否有帮助？", "非常有帮助\n有一定帮助\n帮助不大", True),
    ("multiple", "您希望下次会议讨论哪些主题？", "胰岛素起始\nGLP-1受体激动剂\n低血糖管理\n肾功能不全患者用药", False),
    ("rating", "您对本次会议的整体评分", "", True),
    ("nps", "您向同事推荐本系列会议的可能性有多大？", "", True),
    ("text", "其他意见和建议", "", False),
]


def make_survey(*, event=None, anonymous: bool = False, questions=DEFAULT_QUESTIONS, **fields) -> Survey:
    survey = Survey.objects.create(title=fields.pop("title", "会后问卷"), event=event, anonymous=anonymous, **fields)
    for order, (kind, text, choices, required) in enumerate(questions):
        SurveyQuestion.objects.create(survey=survey, sort_order=order, kind=kind, text=text, choices=choices,
                                      required=required)
    return survey


def check_in(event, doctor, *, method: str = "camera", staff=None, registration=None, when=None) -> CheckIn:
    """A confirmed registration (unless given) checked in through a successful scan row."""
    registration = registration or make_registration(event, doctor)
    ticket = registration.ticket
    scan = Scan.objects.create(event=event, ticket=ticket, staff=staff, method=method, raw_input=ticket.secret,
                               result=Scan.Result.OK, http_status=201, device="test-phone")
    return CheckIn.objects.create(ticket=ticket, event=event, registration=registration, scan=scan, method=method,
                                  checked_in_at=when or timezone.now())


def answers_for(survey, **overrides) -> dict[str, list[str]]:
    """Valid raw answers to DEFAULT_QUESTIONS keyed by question id; `overrides` by position: q0=[...]."""
    questions = list(survey.questions.all())
    values = {"q0": ["0"], "q1": ["1", "2"], "q2": ["5"], "q3": ["9"], "q4": ["讲得很好"]}
    values.update(overrides)
    return {str(q.pk): values[f"q{i}"] for i, q in enumerate(questions) if f"q{i}" in values}
