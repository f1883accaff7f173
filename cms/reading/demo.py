"""Demo reading history for `manage.py seed_demo`: demo doctors have read, half-read, shared and saved content.

Everything goes through the real services: `reading_open` (with a colleague's share code for forwarded reads),
`reading_beacon` (the start is moved back first, because a beacon is credited at most the wall-clock time that
has passed) and `favourite_toggle`. Completed reads therefore earn the `read_article` points and engagement
events exactly as on the site. Idempotent: demo doctors who already have reading records are left alone.
"""

import random
from collections import Counter
from datetime import timedelta

from cms.pages.models import ContentPage
from cms.pages.selectors import can_read_content
from cms.reading.models import Favourite, ReadingRecord
from cms.reading.services import completion_rule, favourite_toggle, reading_beacon, reading_open, share_code_for
from engage.core.demo import demo_seeder
from members.accounts import demo as demo_data
from members.profiles.models import DoctorProfile

READERS = 60  # the first verified demo doctors
SHARERS = 6  # of whom these forward links to colleagues


@demo_seeder(order=90)
def seed_demo_reading() -> Counter:
    created: Counter = Counter()
    usernames = [spec.username for spec in demo_data.doctor_specs()]
    doctors = [p.user for p in DoctorProfile.objects.filter(
        user__username__in=usernames, status=DoctorProfile.Status.VERIFIED).select_related("user").order_by("pk")
        [:READERS]]
    pages = list(ContentPage.objects.live().order_by("pk"))
    if not doctors or not pages or ReadingRecord.objects.filter(doctor__in=doctors).exists():
        return created
    rng = random.Random(2026)
    codes = [share_code_for(user=doctor).code for doctor in doctors[:SHARERS]]
    for n, doctor in enumerate(doctors):
        readable = [page for page in pages if can_read_content(doctor, page)]
        for page in rng.sample(readable, min(len(readable), rng.randint(2, 6))):
            forwarded = n >= SHARERS and rng.random() < 0.25
            record = reading_open(doctor=doctor, page=page, ref=rng.choice(codes) if forwarded else "")
            rule = completion_rule(page)
            finished = rng.random() < 0.6
            seconds = rule["seconds"] + rng.randint(10, 240) if finished else rng.randint(5, rule["seconds"])
            share = 1.0 if finished else round(rng.uniform(0.1, 0.7), 2)
            ReadingRecord.objects.filter(pk=record.pk).update(
                started_at=record.started_at - timedelta(seconds=seconds + 1))
            reading_beacon(doctor=doctor, page_id=page.pk, record_id=record.pk, seconds=seconds, share=share)
            created["reading records"] += 1
        for page in rng.sample(readable, min(len(readable), rng.randint(0, 3))):
            if not Favourite.objects.filter(user=doctor, page=page).exists():
                favourite_toggle(user=doctor, page_id=page.pk)
                created["favourites"] += 1
    return created
