"""manage.py create_demo_event [--capacity N] [--quotas K] [--starts-in MINUTES]: one more published meeting.

The meeting goes live through the real review workflow (events.pages.demo.publish_demo_event: medical, then
compliance approval by the demo reviewers). Its capacity is split into K quotas: the open quota and K-1 rep
quotas (demo reps `demo-rep-NN` when seeded) or, without enough reps, region quotas. Prints the meeting's id
(only the id on stdout, for scripts; -v 2 adds the quotas and invitation codes on stderr).
"""

from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from engage.core.errors import DomainError
from engage.core.roles import Capability, capability_holders
from events.pages.demo import demo_event_index, publish_demo_event
from events.pages.models import EventPage, EventType
from events.pages.provinces import PROVINCES
from events.registrations.services import quota_allocate, quota_open_sync
from members.accounts.models import User
from members.hospitals.models import TherapyArea


class Command(BaseCommand):
    help = "Creates and publishes a demo meeting with quotas and prints its id."

    def add_arguments(self, parser):
        parser.add_argument("--capacity", type=int, default=100, help="Seats (default 100).")
        parser.add_argument("--quotas", type=int, default=1,
                            help="Quotas the capacity is split into, the open quota included (default 1).")
        parser.add_argument("--starts-in", type=int, default=24 * 60, dest="starts_in",
                            help="Minutes from now until the meeting starts (default 1440; 0 or less: started).")
        parser.add_argument("--title", default="", help="Title (default: a dated demo title).")

    def handle(self, *args, capacity, quotas, starts_in, title, **options):
        if not 1 <= capacity <= 100_000:
            raise CommandError("--capacity must be between 1 and 100000.")
        if not 1 <= quotas <= min(capacity, 34):
            raise CommandError("--quotas must be between 1 and the capacity (at most 34).")
        try:
            with transaction.atomic():
                event = self._create(capacity=capacity, quotas=quotas, starts_in=starts_in, title=title)
        except DomainError as error:
            raise CommandError(str(error.message)) from error
        if options["verbosity"] >= 2:
            for quota in event.quotas.order_by("pk"):
                self.stderr.write(f"{quota.kind}\t{quota.label}\t{quota.seats}\t{quota.invite_code or ''}")
        self.stdout.write(str(event.pk))

    def _create(self, *, capacity: int, quotas: int, starts_in: int, title: str):
        index = demo_event_index()
        if index is None:
            raise CommandError("There is no home page: run `manage.py migrate` first.")
        now = timezone.now()
        starts = (now + timedelta(minutes=starts_in)).replace(second=0, microsecond=0)
        stamp = timezone.localtime(now).strftime("%Y%m%d%H%M%S%f")
        page = EventPage(
            title=title or f"演示会议 {timezone.localtime(starts):%m月%d日 %H:%M}",
            slug=f"demo-event-{stamp}",
            topic="2型糖尿病的综合管理与新药进展",
            event_type=EventType.CITY,
            therapy_area=TherapyArea.objects.filter(code="diabetes").first(),
            description="<p>演示用会议：报名、名额、电子票与现场签到。</p>",
            agenda=[("item", {"start_time": timezone.localtime(starts).time(), "title": "糖尿病诊疗进展",
                              "minutes": 60, "academic": True})],
            venue_name="上海国际会议中心 七楼会议室", venue_address="上海市浦东新区滨江大道2727号",
            province="上海市", city="上海市",
            venue_latitude=Decimal("31.240430"), venue_longitude=Decimal("121.495330"),
            starts_at=starts, ends_at=starts + timedelta(hours=2), capacity=capacity,
        )
        page = publish_demo_event(page, parent=index)
        marketing = User.objects.filter(username="demo-marketing", is_active=True).first()
        quota_open_sync(event=page, actor=marketing)
        shares = [capacity // quotas + (1 if i < capacity % quotas else 0) for i in range(quotas)]
        reps = list(capability_holders(Capability.COVER_TERRITORY, superusers=False)
                    .filter(username__startswith="demo-rep-").order_by("username")[: quotas - 1])
        for i, seats in enumerate(shares[1:]):
            if len(reps) == quotas - 1:
                quota_allocate(event=page, actor=marketing, seats=seats, rep=reps[i])
            else:
                quota_allocate(event=page, actor=marketing, seats=seats, province=PROVINCES[i])
        return page
