"""Demo meetings: reviewed and published through the real workflow, today's meeting with check-in open and
registered doctors, quotas consistent with the registrations, a past meeting with check-ins; idempotent."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.utils import timezone

from events.checkin.models import CheckIn
from events.pages.demo import PAST, REP_INVITED, TODAY_REGISTERED, UPCOMING, _today_times, seed_demo_events
from events.pages.models import EventIndexPage, EventPage
from events.registrations.models import Quota, Registration, Ticket
from members.profiles.models import DoctorProfile
from tests.events.factories import make_rep
from tests.factories import DoctorProfileFactory, user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_people():
    """The demo log-ins seed_demo makes before the meetings: marketing, two reps, verified doctors."""
    user_with_role("marketing", username="demo-marketing")
    for n in (1, 2):
        user_with_role("rep", username=f"demo-rep-{n:02d}")
    for n in range(1, 70):
        doctor = user_with_role("doctor", username=f"demo-doctor-{n:03d}")
        DoctorProfileFactory(user=doctor, status=DoctorProfile.Status.VERIFIED, verified_at=timezone.now(),
                             is_speaker=n % 20 == 0)


def test_seeding_creates_reviewed_meetings_and_is_idempotent(demo_people):
    created = seed_demo_events()
    assert created == {"meetings": len(UPCOMING) + 2, "meeting registrations": TODAY_REGISTERED + 24}
    index = EventIndexPage.objects.get()
    assert index.live and index.get_parent().specific_class.__name__ == "HomePage"
    events = EventPage.objects.child_of(index)
    assert events.count() == len(UPCOMING) + 2
    for event in events:
        assert event.live and event.approval_code.startswith("CN-MTG-")
        assert event.speakers.exists()
    again = seed_demo_events()
    assert again == {"meetings": 0, "meeting registrations": 0}
    assert EventPage.objects.count() == len(UPCOMING) + 2 and Registration.objects.count() == TODAY_REGISTERED + 24


def test_todays_meeting_has_check_in_open_and_registered_doctors(demo_people):
    seed_demo_events()
    now = timezone.now()
    today = EventPage.objects.get(slug__startswith="demo-today-")
    assert timezone.localdate(today.starts_at) == timezone.localdate() == timezone.localdate(today.ends_at)
    assert today.starts_at - timedelta(minutes=today.checkin_opens_minutes) <= now < today.ends_at
    assert today.starts_at <= now + timedelta(hours=1)
    confirmed = Registration.objects.filter(event=today, status=Registration.Status.CONFIRMED)
    assert confirmed.count() == TODAY_REGISTERED
    assert Ticket.objects.filter(event=today, revoked_at__isnull=True).count() == TODAY_REGISTERED
    assert not confirmed.filter(doctor__username="demo-doctor-001").exists()  # left free for the demo log-in
    rep_quotas = Quota.objects.filter(event=today, kind=Quota.Kind.REP).order_by("rep__username")
    assert [q.rep.username for q in rep_quotas] == ["demo-rep-01", "demo-rep-02"]
    assert [q.taken for q in rep_quotas] == list(REP_INVITED)
    quotas = Quota.objects.filter(event=today)
    assert quotas.aggregate(s=Sum("seats"))["s"] == today.capacity
    assert quotas.aggregate(t=Sum("taken"))["t"] == confirmed.filter(holds_seat=True).count()


def test_the_past_meeting_has_its_check_ins(demo_people):
    seed_demo_events()
    past = EventPage.objects.get(slug=PAST.slug)
    assert past.ends_at < timezone.now()
    checkins = CheckIn.objects.filter(event=past, annulled_at__isnull=True)
    assert 0 < checkins.count() < Registration.objects.filter(event=past).count()  # a few no-shows
    for checkin in checkins.select_related("scan"):
        assert checkin.scan.result == "ok" and checkin.scan.server_time == checkin.checked_in_at
        assert past.starts_at - timedelta(hours=1) <= checkin.checked_in_at <= past.ends_at
    assert Quota.objects.get(event=past, kind=Quota.Kind.OPEN).taken == Registration.objects.filter(
        event=past, holds_seat=True).count()


def test_today_times_stay_inside_the_day_even_near_midnight():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    shanghai = ZoneInfo("Asia/Shanghai")
    for hour, minute in ((8, 0), (22, 50), (23, 40), (23, 58), (0, 1)):
        now = datetime(2026, 11, 23, hour, minute, tzinfo=shanghai)
        starts, ends = _today_times(now)
        assert starts.date() == ends.date() == now.date()
        assert starts < ends and starts - timedelta(minutes=60) <= now < ends


def test_publish_demo_event_for_the_create_demo_event_command(demo_people):
    from events.pages.demo import demo_event_index, publish_demo_event

    now = timezone.now()
    page = EventPage(title="命令创建的会议", slug="cmd", topic="主题", starts_at=now + timedelta(days=2),
                     ends_at=now + timedelta(days=2, hours=2), capacity=10)
    page = publish_demo_event(page)
    assert page.live and page.get_parent().pk == demo_event_index().pk and page.approval_code




def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_demo_event", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_creates_a_published_meeting_with_region_quotas_and_prints_its_id():
    out, err = run("--capacity", "50", "--quotas", "4", "--starts-in", "30", "-v", "2")
    event = EventPage.objects.get(pk=int(out))
    assert event.live and event.capacity == 50 and event.approval_code.startswith("CN-MTG-")
    quotas = list(Quota.objects.filter(event=event).order_by("pk"))
    assert sorted(q.seats for q in quotas) == [12, 12, 13, 13] and sum(q.seats for q in quotas) == 50
    assert [q.kind for q in quotas].count("open") == 1 and [q.kind for q in quotas].count("region") == 3
    assert all(q.invite_code in err for q in quotas if q.kind != "open")
    delta = (event.starts_at - __import__("django.utils.timezone", fromlist=["now"]).now()).total_seconds()
    assert 25 * 60 <= delta <= 31 * 60


def test_uses_demo_reps_when_there_are_enough():
    reps = [make_rep(username=f"demo-rep-{n:02d}") for n in (1, 2)]
    out, _err = run("--capacity", "9", "--quotas", "3")
    quotas = Quota.objects.filter(event_id=int(out), kind="rep")
    assert {q.rep for q in quotas} == set(reps)


def test_defaults_and_a_second_run_makes_another_meeting():
    first, _ = run()
    second, _ = run()
    assert first != second
    assert Quota.objects.get(event_id=int(first), kind="open").seats == 100


@pytest.mark.parametrize("args", [["--capacity", "0"], ["--quotas", "0"], ["--capacity", "3", "--quotas", "4"],
                                  ["--capacity", "x"]])
def test_bad_arguments(args):
    with pytest.raises((CommandError, SystemExit)):
        run(*args)
    assert not EventPage.objects.exists()
