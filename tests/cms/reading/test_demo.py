"""Demo reading history: made through the real reading services, so it pays points once and is idempotent."""

from cms.pages.models import Audience
from cms.reading.demo import seed_demo_reading
from cms.reading.models import Favourite, ReadingRecord
from members.engagement.models import EngagementEvent
from members.points.models import PointsTransaction
from members.profiles.models import DoctorProfile
from tests.cms.factories import area_page, make_article
from tests.factories import DoctorProfileFactory, user_with_role


def test_demo_reading_uses_the_services_and_runs_once(db):
    parent = area_page()
    pages = [make_article(parent, slug=f"demo-read-{n}", title=f"演示文章{n}") for n in range(5)]
    make_article(parent, slug="kol-only", title="专家专属", audience=Audience.KOL)
    doctors = []
    for n in range(1, 9):
        user = user_with_role("doctor", username=f"demo-doctor-{n:03d}")
        DoctorProfileFactory(user=user, status=DoctorProfile.Status.VERIFIED)
        doctors.append(user)

    created = seed_demo_reading()

    records = ReadingRecord.objects.filter(doctor__in=doctors)
    assert created["reading records"] == records.count() >= 2 * len(doctors)
    assert not records.filter(page__title="专家专属").exists()  # only what each doctor may read
    completed = records.filter(completed_at__isnull=False)
    assert completed.exists() and records.filter(completed_at__isnull=True, max_share__gt=0).exists()
    paid = PointsTransaction.objects.filter(kind="earn", idempotency_key__startswith="read:")
    assert paid.count() == completed.count()
    assert EngagementEvent.objects.filter(kind="content_read").count() == completed.count()
    assert Favourite.objects.filter(user__in=doctors).count() == created["favourites"]
    assert {r.page_id for r in records} <= {p.pk for p in pages}

    assert sum(seed_demo_reading().values()) == 0
    assert ReadingRecord.objects.filter(doctor__in=doctors).count() == created["reading records"]
