"""Demo segmentation for `manage.py seed_demo`: specialties, practice indicators, KOL tiers, a `joined` event and
a year of engagement for the demo doctors, then a recompute, so the matrix shows a realistic spread.

Idempotent: indicators are keyed by doctor and therapy area, events by their source key; only missing rows are
added (an existing row is never changed), and the recompute runs only when something was added.
"""

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from engage.core.demo import demo_seeder
from members.accounts import demo as demo_data
from members.engagement.models import EngagementEvent, EngagementKind
from members.hospitals.models import TherapyArea
from members.profiles.models import DoctorProfile
from members.segments.models import DoctorIndicators, DoctorSegment, KolTier
from members.segments.services import segments_recompute

# Demo department -> the therapy area its doctors specialise in; other departments stay unsegmented.
DEPARTMENT_AREAS = {
    "endocrinology": "diabetes", "cardiology": "cardiovascular", "oncology": "oncology",
    "respiratory": "respiratory", "neurology": "neurology", "nephrology": "nephrology",
    "rheumatology": "immunology", "geriatrics": "cardiovascular", "general-practice": "diabetes",
    "haematology": "oncology",
}


# Title -> ranges of (beds in charge, weekly outpatient visits, weekly target patients).
_PRACTICE = {
    "chief": ((25, 60), (150, 420), (30, 110)),
    "associate_chief": ((15, 45), (100, 320), (20, 80)),
    "attending": ((6, 30), (50, 220), (8, 55)),
    "resident": ((0, 14), (15, 110), (0, 25)),
    "other": ((0, 10), (10, 90), (0, 20)),
}


# Title -> KOL tier weights (none, local, regional, national).
_KOL = {
    "chief": (25, 30, 27, 18), "associate_chief": (50, 30, 17, 3), "attending": (85, 15, 0, 0),
    "resident": (100, 0, 0, 0), "other": (100, 0, 0, 0),
}


# Engagement profile -> (content read, meetings, live sessions, surveys) per year.
_ENGAGEMENT = {
    "heavy": ((25, 45), (5, 9), (4, 9), (3, 7)),
    "medium": ((8, 22), (1, 4), (1, 4), (0, 3)),
    "light": ((0, 8), (0, 1), (0, 1), (0, 1)),
}


_KINDS = (EngagementKind.CONTENT_READ, EngagementKind.MEETING_ATTENDED, EngagementKind.LIVE_WATCHED,
          EngagementKind.SURVEY_ANSWERED)


_OBJECTS = {
    EngagementKind.CONTENT_READ: "示例学术文章 {n}",
    EngagementKind.MEETING_ATTENDED: "示例学术会议 {n}",
    EngagementKind.LIVE_WATCHED: "示例直播 {n}",
    EngagementKind.SURVEY_ANSWERED: "示例问卷 {n}",
    EngagementKind.COURSE_TAUGHT: "示例继续教育课程 {n}",
}


@transaction.atomic
@demo_seeder(order=70)
def seed_demo_segments() -> dict[str, int]:
    """Adds what is missing for the demo doctors and regrades them when anything was added. Returns counts."""
    specs = {spec.username: spec for spec in demo_data.doctor_specs()}
    profiles = {p.user.username: p for p in DoctorProfile.objects.filter(user__username__in=specs)
                .select_related("user").prefetch_related("specialties")}
    areas = {a.code: a for a in TherapyArea.objects.filter(code__in=set(DEPARTMENT_AREAS.values()))}
    created = {"specialties": 0, "doctor indicators": 0, "engagement events": 0}
    existing_indicators = set(DoctorIndicators.objects.filter(doctor__username__in=specs)
                              .values_list("doctor_id", "therapy_area_id"))
    new_indicators, new_events, source_keys = [], [], []
    now = timezone.now()
    for username, profile in sorted(profiles.items()):
        spec = specs[username]
        # The first entry of the history, with the key sign-up uses (members/adapters.py), so never twice.
        key = f"member.joined:{profile.user_id}"
        source_keys.append(key)
        new_events.append(EngagementEvent(doctor_id=profile.user_id, kind=EngagementKind.JOINED, source_key=key,
                                          occurred_at=profile.user.date_joined))
        rng = random.Random(f"engage-demo-segments:{username}")
        main = areas.get(DEPARTMENT_AREAS.get(spec.department, ""))
        doctor_areas = [main] if main is not None else []
        # Diabetes cuts across departments: about a third of the other doctors see enough of it to be graded.
        if main is None or main.code != "diabetes":
            if rng.random() < 0.35 and "diabetes" in areas:
                doctor_areas.append(areas["diabetes"])
        if not doctor_areas:
            continue
        if not profile.specialties.all():
            profile.specialties.add(*doctor_areas)
            created["specialties"] += len(doctor_areas)
        title = spec.title if spec.title in _PRACTICE else "other"
        kol_tier = rng.choices(list(KolTier.values), _KOL[title])[0]
        for rank, area in enumerate(doctor_areas):
            # Draw every number first: the same sequence on every run, whatever already exists.
            assessed = rng.random() < 0.9  # one doctor in ten has not been assessed yet in an area
            beds, visits, targets = (rng.randint(*bounds) for bounds in _PRACTICE[title])
            if not assessed or (profile.user_id, area.pk) in existing_indicators:
                continue
            if (spec.hospital.beds or 0) < 800:  # bigger hospitals give their doctors more beds
                beds = beds // 2
            if rank:  # a second area is a smaller part of the practice
                beds, visits, targets = beds // 2, visits // 2, targets // 2
            new_indicators.append(DoctorIndicators(
                doctor_id=profile.user_id, therapy_area=area, beds_in_charge=beds, weekly_outpatients=visits,
                weekly_target_patients=targets, kol_tier=kol_tier if rank == 0 else KolTier.NONE,
            ))
        level = rng.choices(list(_ENGAGEMENT), (25, 40, 35))[0]
        plan = [(kind, rng.randint(*bounds)) for kind, bounds in zip(_KINDS, _ENGAGEMENT[level], strict=True)]
        if kol_tier != KolTier.NONE:
            plan.append((EngagementKind.COURSE_TAUGHT, rng.randint(1, 4)))
        serial = 0
        for kind, count in plan:
            for _ in range(count):
                serial += 1
                key = f"demo-segments:{username}:{serial}"
                source_keys.append(key)
                # Mostly within the last year; one in eight is older and no longer counts for support.
                days = rng.randint(1, 340) if rng.random() < 0.875 else rng.randint(380, 600)
                n = rng.randint(1, 60)
                new_events.append(EngagementEvent(
                    doctor_id=profile.user_id, kind=kind, source_key=key,
                    # Untagged events count for every specialty of the doctor.
                    therapy_area=rng.choice(doctor_areas) if rng.random() < 0.7 else None,
                    occurred_at=now - timedelta(days=days, minutes=rng.randint(0, 1439)),
                    object_type="demo", object_id=str(n), object_repr=_OBJECTS[kind].format(n=n),
                    metadata={"demo": True},
                ))

    DoctorIndicators.objects.bulk_create(new_indicators)
    created["doctor indicators"] = len(new_indicators)
    known = set(EngagementEvent.objects.filter(source_key__in=source_keys).values_list("source_key", flat=True))
    missing = [e for e in new_events if e.source_key not in known]
    EngagementEvent.objects.bulk_create(missing, batch_size=2000, ignore_conflicts=True)
    created["engagement events"] = len(missing)

    never_graded = not DoctorSegment.objects.filter(doctor__username__in=specs).exists()
    if any(created.values()) or (never_graded and existing_indicators):
        result = segments_recompute()
        created["segments"] = result.created + result.changed
    return created
