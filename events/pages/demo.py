"""Demo meetings for `manage.py seed_demo`: the meeting index, a meeting happening today with check-in open and
registered demo doctors (two reps' quotas, tickets), three upcoming meetings of other types and one past meeting
with its check-ins.

Every meeting goes live through the real review workflow (medical, then compliance approval by the demo
reviewers), and today's registrations go through the registration service. Idempotent: each meeting has a fixed
slug (today's carries the date, so a new day brings a new "today" meeting); meetings that exist are left alone.
Text in Chinese, invented but realistic.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cms.pages.demo import demo_review_and_publish
from cms.pages.models import Audience, HomePage, Product
from engage.core.demo import demo_seeder
from events.checkin.models import CheckIn, Scan
from events.pages.models import EventIndexPage, EventPage, EventType, Speaker
from events.registrations.models import Quota, Registration
from events.registrations.services import quota_allocate, quota_open_sync, registration_create
from events.registrations.tickets import ticket_issue
from members.accounts.models import User
from members.hospitals.models import TherapyArea
from members.profiles.models import DoctorProfile

INDEX_SLUG = "meetings"
TODAY_CAPACITY = 80
TODAY_REGISTERED = 30
REP_SEATS = (10, 8)
REP_INVITED = (8, 6)  # of the 30 registered today, this many through each rep's invitation


PAST_REGISTERED, PAST_CHECKED_IN = 24, 19


SPEAKERS = [
    # (name, hospital, title, bio)
    ("王建国", "北京协和医院", "内分泌科主任医师、教授",
     "长期从事2型糖尿病及其并发症的临床与研究，中华医学会糖尿病学分会委员。"),
    ("李敏", "复旦大学附属中山医院", "心内科主任医师", "擅长心力衰竭的规范化管理与心脏康复，牵头多项多中心临床研究。"),
    ("陈志强", "四川大学华西医院", "肿瘤科副主任医师", "专注肺癌的精准诊断与靶向、免疫治疗，参与多部诊疗指南的编写。"),
    ("赵丽华", "中山大学附属第一医院", "内分泌科副主任医师", "关注持续葡萄糖监测与胰岛素治疗的门诊实践。"),
]


@dataclass(frozen=True)
class MeetingSpec:
    slug: str
    title: str
    topic: str
    event_type: str
    area: str
    description: str
    # (minutes after the start, title, speaker index, minutes, academic)
    agenda: list[tuple[int, str, int | None, int, bool]]
    venue: tuple[str, str, str, str, float | None, float | None]  # (name, address, province, city, lat, lon)
    days_from_today: int
    start: tuple[int, int]  # local hour, minute
    capacity: int
    audience: str = Audience.VERIFIED
    titles: tuple[str, ...] = ()
    approval_required: bool = False
    budget: int | None = None


UPCOMING = [
    MeetingSpec(
        slug="demo-city-heart-failure", title="心力衰竭规范化管理城市会（上海站）",
        topic="射血分数降低的心力衰竭：四联疗法的落地与剂量滴定", event_type=EventType.CITY, area="cardiovascular",
        description="<p>围绕最新心衰指南，探讨四联疗法在临床中的起始顺序、剂量滴定与随访管理，并结合真实病例讨论。</p>",
        agenda=[(0, "开场致辞", None, 10, False), (10, "心衰指南更新要点", 1, 40, True),
                (50, "四联疗法的剂量滴定实战", 1, 40, True), (90, "茶歇", None, 15, False),
                (105, "病例讨论：合并糖尿病的心衰患者", 0, 45, True), (150, "总结与答疑", 1, 20, True)],
        venue=("上海静安香格里拉大酒店 三楼宴会厅", "静安区延安中路1218号", "上海市", "上海市", 31.222636, 121.449486),
        days_from_today=5, start=(14, 0), capacity=120, budget=85000,
    ),
    MeetingSpec(
        slug="demo-webinar-cgm", title="线上学术讲座：持续葡萄糖监测的门诊应用",
        topic="从数据到决策：CGM图谱解读与胰岛素调整", event_type=EventType.WEBINAR, area="diabetes",
        description="<p>通过典型CGM图谱，讲解葡萄糖目标范围内时间（TIR）等指标的解读，以及如何据此调整治疗方案。</p>",
        agenda=[(0, "CGM核心指标解读", 3, 30, True), (30, "典型图谱与胰岛素调整", 3, 30, True),
                (60, "在线答疑", 0, 20, True)],
        venue=("", "", "", "", None, None), days_from_today=10, start=(19, 30), capacity=500,
        audience=Audience.REGISTERED,
    ),
    MeetingSpec(
        slug="demo-department-lung-cancer", title="华西医院肿瘤科科室会：EGFR突变肺癌的全程管理",
        topic="第三代EGFR-TKI一线治疗与耐药后策略", event_type=EventType.DEPARTMENT, area="oncology",
        description="<p>科室内部学术交流：一线治疗选择、脑转移患者的管理以及耐药后的再活检与治疗。</p>",
        agenda=[(0, "一线治疗的循证证据", 2, 30, True), (30, "脑转移患者的管理", 2, 25, True),
                (55, "产品介绍", None, 15, False), (70, "工作午餐", None, 30, False)],
        venue=("四川大学华西医院 第一住院大楼 12楼示教室", "武侯区国学巷37号", "四川省", "成都市",
               30.642126, 104.063385),
        days_from_today=21, start=(12, 0), capacity=30, titles=("chief", "associate_chief", "attending"),
        approval_required=True, budget=6000,
    ),
]


TODAY = MeetingSpec(
    slug="demo-today", title="2型糖尿病综合管理学术会议",
    topic="以患者为中心：2型糖尿病的心肾保护与血糖达标", event_type=EventType.CONFERENCE, area="diabetes",
    description="<p>解读2型糖尿病防治指南的最新推荐，讨论SGLT2抑制剂与GLP-1受体激动剂的心肾获益，以及基础胰岛素的起始与滴定。</p>",
    agenda=[(0, "签到与开场", None, 10, False), (10, "指南更新：以患者为中心的综合管理", 0, 40, True),
            (50, "SGLT2抑制剂的心肾获益", 1, 35, True), (85, "茶歇", None, 15, False),
            (100, "基础胰岛素起始与剂量调整", 3, 35, True), (135, "病例讨论与答疑", 0, 30, True)],
    venue=("北京国际饭店 二层会议厅", "东城区建国门内大街9号", "北京市", "北京市", 39.907980, 116.431080),
    days_from_today=0, start=(0, 0), capacity=TODAY_CAPACITY, budget=60000,
)


PAST = MeetingSpec(
    slug="demo-past-hypertension", title="高血压管理科室会（已结束）",
    topic="家庭血压监测与降压目标值", event_type=EventType.DEPARTMENT, area="cardiovascular",
    description="<p>讨论降压目标值的新共识以及家庭血压监测的规范方法。</p>",
    agenda=[(0, "降压目标值的新共识", 1, 30, True), (30, "家庭血压监测的规范方法", 1, 30, True),
            (60, "工作午餐", None, 30, False)],
    venue=("复旦大学附属中山医院 心内科示教室", "徐汇区枫林路180号", "上海市", "上海市", 31.197650, 121.454720),
    days_from_today=-14, start=(12, 0), capacity=40, budget=5000,
)


def _demo_user(username: str) -> User | None:
    return User.objects.filter(username=username, is_active=True).first()


def demo_event_index() -> EventIndexPage | None:
    """The meeting index under the home page (made and published when missing; it is not reviewed content)."""
    index = EventIndexPage.objects.first()
    if index is not None:
        return index
    home = HomePage.objects.first()
    if home is None:
        return None
    index = EventIndexPage(title="学术会议", slug=INDEX_SLUG,
                           intro="<p>近期学术会议、城市会、科室会与线上讲座，报名后凭二维码签到。</p>")
    home.add_child(instance=index)
    index.save_revision().publish()
    return index


def publish_demo_event(page: EventPage, *, parent: EventIndexPage | None = None) -> EventPage:
    """Takes `page` through the real review workflow (medical then compliance approval by the demo reviewers,
    with their password); the final approval publishes it and gives it its CN-MTG approval code. A page not yet
    in the tree is added under `parent` (default: the demo meeting index)."""
    if page.pk is None:
        parent = parent or demo_event_index()
        if parent is None:
            raise ValueError("There is no home page to put the meeting index under: run migrate first.")
        parent.add_child(instance=page)
    demo_review_and_publish(page)
    page.refresh_from_db()
    return page


def _speakers() -> list[Speaker]:
    kols = list(User.objects.filter(doctor_profile__is_speaker=True, username__startswith="demo-doctor-")
                .order_by("username")[: len(SPEAKERS)])
    speakers = []
    for i, (name, hospital, title, bio) in enumerate(SPEAKERS):
        speaker, _created = Speaker.objects.get_or_create(
            name=name, hospital=hospital,
            defaults={"title": title, "bio": bio, "doctor": kols[i] if i < len(kols) else None})
        speakers.append(speaker)
    return speakers


def _build(spec: MeetingSpec, speakers: list[Speaker], *, starts: datetime.datetime, slug: str) -> EventPage:
    minutes = sum(item[3] for item in spec.agenda)
    ends = starts + datetime.timedelta(minutes=max(minutes, 60))
    local_start = timezone.localtime(starts)
    agenda = [("item", {
        "start_time": (local_start + datetime.timedelta(minutes=offset)).time().replace(second=0, microsecond=0),
        "title": title, "speaker": speakers[who] if who is not None else None, "minutes": length,
        "academic": academic,
    }) for offset, title, who, length, academic in spec.agenda]
    name, address, province, city, lat, lon = spec.venue
    used = sorted({who for _o, _t, who, _m, _a in spec.agenda if who is not None})
    page = EventPage(
        title=spec.title, slug=slug, topic=spec.topic, event_type=spec.event_type,
        therapy_area=TherapyArea.objects.filter(code=spec.area).first(), description=spec.description,
        agenda=agenda, venue_name=name, venue_address=address, province=province, city=city,
        venue_latitude=None if lat is None else Decimal(str(lat)),
        venue_longitude=None if lon is None else Decimal(str(lon)),
        online_url="https://live.example.cn/engage/cgm-2026" if spec.event_type == EventType.WEBINAR else "",
        starts_at=starts, ends_at=ends, capacity=spec.capacity,
        registration_opens_at=min(starts - datetime.timedelta(days=30), timezone.now() - datetime.timedelta(days=1)),
        audience=spec.audience, audience_titles=list(spec.titles), approval_required=spec.approval_required,
        budget=spec.budget,
    )
    page.speakers = [speakers[i] for i in used]
    return page


def _local_start(days: int, hour: int, minute: int) -> datetime.datetime:
    day = timezone.localdate() + datetime.timedelta(days=days)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def _today_times(now: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime]:
    """Starts within the hour (check-in is open from an hour before), ends later today (Beijing time)."""
    local = timezone.localtime(now).replace(second=0, microsecond=0)
    end_of_day = local.replace(hour=23, minute=59)
    starts = local + datetime.timedelta(minutes=20)
    if starts >= end_of_day - datetime.timedelta(minutes=15):
        starts = local - datetime.timedelta(minutes=10)  # just before midnight: already under way
    return starts, min(starts + datetime.timedelta(hours=3), end_of_day)


def _verified_doctors(count: int, *, skip: int = 1) -> list[User]:
    """Verified demo doctors, always the same ones; demo doctor 001 (the documented log-in) is left free."""
    ids = (DoctorProfile.objects.filter(status=DoctorProfile.Status.VERIFIED, user__is_active=True,
                                        user__username__startswith="demo-doctor-")
           .order_by("user__username").values_list("user_id", flat=True)[skip: skip + count])
    return list(User.objects.filter(pk__in=list(ids)).order_by("username"))


def _seed_today(index: EventIndexPage, speakers: list[Speaker]) -> tuple[int, int]:
    slug = f"{TODAY.slug}-{timezone.localdate():%Y%m%d}"
    if index.get_children().filter(slug=slug).exists():
        return 0, 0
    starts, ends = _today_times(timezone.now())
    page = _build(TODAY, speakers, starts=starts, slug=slug)
    page.ends_at = ends
    # About the first product, which learning's demo makes require a curriculum: demo rep 02, not qualified,
    # sees why their invitation for it is refused.
    page.products = list(Product.objects.order_by("pk")[:1])
    page.registration_closes_at = ends
    publish_demo_event(page, parent=index)
    marketing = _demo_user("demo-marketing")
    quota_open_sync(event=page, actor=marketing)
    reps = [_demo_user(f"demo-rep-{n:02d}") for n in (1, 2)]
    invites = []
    for rep, seats in zip(reps, REP_SEATS, strict=True):
        if rep is not None and marketing is not None:
            invites.append(quota_allocate(event=page, actor=marketing, seats=seats, rep=rep).invite_code)
    doctors = _verified_doctors(TODAY_REGISTERED)
    plan: list[str | None] = []
    for code, invited in zip(invites, REP_INVITED, strict=False):
        plan += [code] * invited
    registered = 0
    for i, doctor in enumerate(doctors):
        registration_create(event=page, doctor=doctor, invite=plan[i] if i < len(plan) else None)
        registered += 1
    return 1, registered


def _seed_past(index: EventIndexPage, speakers: list[Speaker]) -> tuple[int, int]:
    """A meeting two weeks ago: its registrations and check-ins are history, written as they were then."""
    if index.get_children().filter(slug=PAST.slug).exists():
        return 0, 0
    starts = _local_start(PAST.days_from_today, *PAST.start)
    page = publish_demo_event(_build(PAST, speakers, starts=starts, slug=PAST.slug), parent=index)
    open_quota = quota_open_sync(event=page, actor=None)
    staff = _demo_user("demo-marketing")
    for i, doctor in enumerate(_verified_doctors(PAST_REGISTERED, skip=40)):
        registration = Registration.objects.create(
            event=page, doctor=doctor, quota=open_quota, holds_seat=True, status=Registration.Status.CONFIRMED)
        Quota.objects.filter(pk=open_quota.pk).update(taken=F("taken") + 1)
        registered_at = starts - datetime.timedelta(days=7, minutes=-37 * i)
        Registration.objects.filter(pk=registration.pk).update(created_at=registered_at)
        ticket = ticket_issue(registration=registration)
        if i >= PAST_CHECKED_IN:
            continue  # no-shows
        at = starts - datetime.timedelta(minutes=25) + datetime.timedelta(minutes=2 * i)
        scan = Scan.objects.create(event=page, ticket=ticket, staff=staff, method=Scan.Method.WEDGE,
                                   device="demo-scanner", raw_input=ticket.secret, result=Scan.Result.OK,
                                   http_status=201, response={"status": "ok"})
        Scan.objects.filter(pk=scan.pk).update(server_time=at)
        CheckIn.objects.create(ticket=ticket, event=page, registration=registration, scan=scan,
                               method=Scan.Method.WEDGE, checked_in_at=at)
    return 1, PAST_REGISTERED


@transaction.atomic
@demo_seeder(order=40)
def seed_demo_events() -> dict[str, int]:
    """Creates the missing demo meetings (and their registrations); returns what it created."""
    created = {"meetings": 0, "meeting registrations": 0}
    index = demo_event_index()
    if index is None:
        return created
    speakers = _speakers()
    for spec in UPCOMING:
        if index.get_children().filter(slug=spec.slug).exists():
            continue
        starts = _local_start(spec.days_from_today, *spec.start)
        publish_demo_event(_build(spec, speakers, starts=starts, slug=spec.slug), parent=index)
        created["meetings"] += 1
    for seed in (_seed_today, _seed_past):
        meetings, registrations = seed(index, speakers)
        created["meetings"] += meetings
        created["meeting registrations"] += registrations
    return created
