"""Segmentation rules and the recompute service, on PostgreSQL."""

from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from engage.audit.models import AuditEntry
from engage.core.errors import DomainError
from members.engagement.models import EngagementKind
from members.engagement.services import engagement_record
from members.hospitals.models import TherapyArea
from members.profiles.models import DoctorProfile
from members.segments.models import DoctorIndicators, DoctorSegment, KolTier, SegmentationConfig, SegmentChange
from members.segments.services import (
    DEFAULT_CUTOFFS,
    DEFAULT_THRESHOLDS,
    DEFAULT_WEIGHTS,
    doctor_indicators_save,
    is_big_five_city,
    potential_grade,
    segmentation_config_update,
    segments_recompute,
    support_grade,
    support_window_start,
)
from tests import factories
from tests.race import exceptions, race

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=SHANGHAI)


# Segmentation grades every profile that is not rejected: here a bare pending profile (no doctor role, no licence
# number) at a hospital in Shanghai unless `city=` says otherwise.
make_doctor = partial(factories.make_doctor, verified=False, role=False, city="上海市", licence_number="")


def indicators(doctor, area, beds=0, outpatients=0, targets=0, kol=KolTier.NONE):
    return DoctorIndicators.objects.update_or_create(
        doctor=doctor, therapy_area=area,
        defaults={"beds_in_charge": beds, "weekly_outpatients": outpatients, "weekly_target_patients": targets,
                  "kol_tier": kol},
    )[0]


def event(doctor, kind, at, area=None, key=None):
    event.n = getattr(event, "n", 0) + 1
    return engagement_record(doctor=doctor, kind=kind, therapy_area=area, occurred_at=at,
                             source_key=key or f"test:{event.n}:{doctor.pk}:{kind}")[0]


@pytest.fixture
def diabetes(db):
    return TherapyArea.objects.get(code="diabetes")


@pytest.fixture
def cardio(db):
    return TherapyArea.objects.get(code="cardiovascular")


@pytest.mark.parametrize("city, beds, outpatients, targets, grade", [
    # big five (A: 40 / 300 / 80, B: 20 / 150 / 30)
    ("北京市", 40, 0, 0, "A"),  # exactly A's threshold
    ("北京", 39, 0, 0, "B"),  # just below A, above B
    ("北京", 0, 300, 0, "A"),  # any one indicator is enough
    ("北京", 0, 0, 80, "A"),
    ("北京", 0, 0, 79, "B"),
    ("北京", 20, 0, 0, "B"),  # exactly B's threshold
    ("北京", 19, 149, 29, "C"),  # all just below B
    ("上海市", 30, 0, 0, "B"),  # 30 beds: B in a big-five city …
    ("成都市", 30, 0, 0, "A"),  # … but A elsewhere (other: A 30 / 200 / 50, B 15 / 100 / 20)
    ("成都", 29, 0, 0, "B"),
    ("成都", 0, 200, 0, "A"),
    ("成都", 0, 0, 20, "B"),
    ("成都", 14, 99, 19, "C"),
    ("广州市", 0, 0, 50, "B"),
    ("杭州", 0, 0, 50, "B"),
    ("南京市", 0, 299, 0, "B"),
    ("深圳市", 0, 0, 50, "A"),  # a large city, but not one of the five
])
def test_potential_grade(city, beds, outpatients, targets, grade):
    assert potential_grade(thresholds=DEFAULT_THRESHOLDS, city=city, indicators={
        "beds_in_charge": beds, "weekly_outpatients": outpatients, "weekly_target_patients": targets}) == grade


@pytest.mark.parametrize("city, big", [
    ("北京市", True), ("北京", True), (" 北京 市 ", True), ("Beijing", True), ("shanghai", True), ("上海市", True),
    ("广州", True), ("南京市", True), ("杭州市", True), ("成都市", False), ("深圳", False), ("", False), (None, False),
    ("北京西", False),
])
def test_big_five_city_names_are_normalised(city, big):
    assert is_big_five_city(city) is big


@pytest.mark.parametrize("score, grade", [(1000, "1"), (60, "1"), (59, "2"), (20, "2"), (19, "3"), (0, "3")])
def test_support_grade_boundaries(score, grade):
    assert support_grade(score=score, cutoffs=DEFAULT_CUTOFFS) == grade


def test_support_window_is_twelve_months_in_local_time():
    assert support_window_start(NOW) == datetime(2025, 6, 15, 12, 0, tzinfo=SHANGHAI)
    leap = datetime(2028, 2, 29, 8, 0, tzinfo=SHANGHAI)
    assert support_window_start(leap) == datetime(2027, 2, 28, 8, 0, tzinfo=SHANGHAI)


@pytest.mark.django_db
def test_recompute_grades_doctors_and_writes_history_once(diabetes):
    a1 = make_doctor(city="北京市")
    indicators(a1, diabetes, beds=45, kol=KolTier.NATIONAL)
    for i in range(6):  # 6 meetings × 5 + 10 reads × 1 = 40 → support 2
        event(a1, EngagementKind.MEETING_ATTENDED, NOW - timedelta(days=10 + i), diabetes)
    for i in range(10):
        event(a1, EngagementKind.CONTENT_READ, NOW - timedelta(days=3, hours=i), diabetes)
    c3 = make_doctor(city="成都市")
    indicators(c3, diabetes, beds=5)

    result = segments_recompute(therapy_area=diabetes, now=NOW)
    assert (result.created, result.changed, result.removed) == (2, 0, 0)
    seg = DoctorSegment.objects.get(doctor=a1, therapy_area=diabetes)
    assert (seg.cell, seg.kol_tier, seg.support_score) == ("A2", KolTier.NATIONAL, 40)
    assert DoctorSegment.objects.get(doctor=c3).cell == "C3"
    assert list(SegmentChange.objects.filter(doctor=a1).values_list("from_cell", "to_cell")) == [("", "A2")]

    # Idempotent: the second run changes nothing, not even the computed time.
    before = list(DoctorSegment.objects.order_by("pk").values())
    again = segments_recompute(therapy_area=diabetes, now=NOW + timedelta(minutes=5))
    assert (again.created, again.changed, again.rescored, again.removed, again.unchanged) == (0, 0, 0, 0, 2)
    assert list(DoctorSegment.objects.order_by("pk").values()) == before
    assert SegmentChange.objects.count() == 2

    # More engagement moves the doctor to A1: one history row; a KOL tier change is one more.
    for i in range(4):
        event(a1, EngagementKind.COURSE_TAUGHT, NOW - timedelta(days=1, hours=i), diabetes)
    segments_recompute(therapy_area=diabetes, now=NOW)
    indicators(a1, diabetes, beds=45, kol=KolTier.REGIONAL)
    segments_recompute(therapy_area=diabetes, now=NOW)
    rows = list(SegmentChange.objects.filter(doctor=a1).order_by("id").values_list("from_cell", "to_cell",
                                                                                    "kol_tier"))
    assert rows == [("", "A2", "national"), ("A2", "A1", "national"), ("A1", "A1", "regional")]

    # One audit entry per run, with the counts.
    entries = AuditEntry.objects.filter(action="segments.recompute").order_by("id")
    assert entries.count() == 4
    assert entries[0].after["created"] == 2 and entries[1].after["unchanged"] == 2


@pytest.mark.django_db
def test_score_only_change_updates_the_score_without_history(diabetes):
    doctor = make_doctor()
    indicators(doctor, diabetes, beds=1)
    segments_recompute(therapy_area=diabetes, now=NOW)
    event(doctor, EngagementKind.CONTENT_READ, NOW - timedelta(days=1), diabetes)
    result = segments_recompute(therapy_area=diabetes, now=NOW)
    assert result.rescored == 1 and result.changed == 0
    assert DoctorSegment.objects.get(doctor=doctor).support_score == 1
    assert SegmentChange.objects.filter(doctor=doctor).count() == 1


@pytest.mark.django_db
def test_support_counts_the_last_twelve_months_only(diabetes):
    doctor = make_doctor()
    indicators(doctor, diabetes)
    window_start = datetime(2025, 6, 15, 12, 0, tzinfo=SHANGHAI)
    event(doctor, EngagementKind.COURSE_TAUGHT, window_start, diabetes)  # first instant inside: 10
    event(doctor, EngagementKind.COURSE_TAUGHT, window_start - timedelta(seconds=1), diabetes)  # outside
    event(doctor, EngagementKind.COURSE_TAUGHT, NOW + timedelta(seconds=1), diabetes)  # in the future
    event(doctor, EngagementKind.SURVEY_ANSWERED, NOW, diabetes)  # 2
    event(doctor, EngagementKind.LIVE_WATCHED, NOW - timedelta(days=100), diabetes)  # 3
    event(doctor, EngagementKind.VERIFIED, NOW - timedelta(days=5))  # membership events carry no weight
    segments_recompute(therapy_area=diabetes, now=NOW)
    assert DoctorSegment.objects.get(doctor=doctor).support_score == 15

    # A year on, with the clock really moved, the same events have aged out: support falls back to 3.
    for i in range(5):
        event(doctor, EngagementKind.COURSE_TAUGHT, NOW - timedelta(days=20 + i), diabetes)
    segments_recompute(therapy_area=diabetes, now=NOW)
    assert DoctorSegment.objects.get(doctor=doctor).cell == "C1"  # 65
    with time_machine.travel(NOW + timedelta(days=400), tick=False):
        segments_recompute()
    seg = DoctorSegment.objects.get(doctor=doctor)
    assert (seg.cell, seg.support_score) == ("C3", 0)
    assert SegmentChange.objects.filter(doctor=doctor).first().from_cell == "C1"


@pytest.mark.django_db
def test_untagged_events_count_for_every_specialty(diabetes, cardio):
    oncology = TherapyArea.objects.get(code="oncology")
    doctor = make_doctor(specialties=[diabetes, cardio])
    for area in (diabetes, cardio, oncology):
        indicators(doctor, area)
    event(doctor, EngagementKind.MEETING_ATTENDED, NOW - timedelta(days=2))  # untagged: 5 to diabetes + cardio
    event(doctor, EngagementKind.LIVE_WATCHED, NOW - timedelta(days=2), cardio)  # tagged: 3 to cardio only
    segments_recompute(now=NOW)
    scores = dict(DoctorSegment.objects.filter(doctor=doctor).values_list("therapy_area__code", "support_score"))
    assert scores == {"diabetes": 5, "cardiovascular": 8, "oncology": 0}


@pytest.mark.django_db
def test_weights_and_cutoffs_are_per_area(diabetes, cardio):
    config = SegmentationConfig.objects.get(therapy_area=cardio)
    config.support_weights = {**DEFAULT_WEIGHTS, "content_read": 30}
    config.save()
    doctor = make_doctor(specialties=[diabetes, cardio])
    indicators(doctor, diabetes)
    indicators(doctor, cardio)
    event(doctor, EngagementKind.CONTENT_READ, NOW - timedelta(days=2))
    event(doctor, EngagementKind.CONTENT_READ, NOW - timedelta(days=3))
    segments_recompute(now=NOW)
    cells = dict(DoctorSegment.objects.filter(doctor=doctor).values_list("therapy_area__code", "support"))
    assert cells == {"diabetes": "3", "cardiovascular": "1"}


@pytest.mark.django_db
def test_doctors_without_indicators_get_no_segment_and_leave_when_removed(diabetes):
    with_none = make_doctor(specialties=[diabetes])
    leaving = make_doctor()
    indicators(leaving, diabetes, beds=50)
    rejected = make_doctor(status=DoctorProfile.Status.REJECTED)
    indicators(rejected, diabetes, beds=50)
    segments_recompute(now=NOW)
    assert not DoctorSegment.objects.filter(doctor__in=[with_none, rejected]).exists()
    assert DoctorSegment.objects.get(doctor=leaving).cell == "A3"

    leaving.is_active = False  # e.g. the account was closed
    leaving.save()
    result = segments_recompute(now=NOW)
    assert result.removed == 1
    assert not DoctorSegment.objects.filter(doctor=leaving).exists()
    assert SegmentChange.objects.filter(doctor=leaving).first().to_cell == ""
    assert segments_recompute(now=NOW).removed == 0


@pytest.mark.django_db
def test_recompute_of_some_doctors_leaves_the_others_alone(diabetes):
    one, other = make_doctor(), make_doctor()
    indicators(one, diabetes, beds=50)
    indicators(other, diabetes, beds=50)
    result = segments_recompute(doctors=[one], now=NOW)
    assert result.created == 1
    assert list(DoctorSegment.objects.values_list("doctor_id", flat=True)) == [one.pk]
    assert AuditEntry.objects.get(action="segments.recompute").after["scope"] == "doctors"


@pytest.mark.django_db
def test_a_broken_stored_configuration_skips_the_area_and_keeps_its_segments(diabetes, cardio):
    doctor = make_doctor()
    indicators(doctor, diabetes, beds=50)
    indicators(doctor, cardio, beds=50)
    segments_recompute(now=NOW)
    SegmentationConfig.objects.filter(therapy_area=diabetes).update(support_cutoffs={"1": "many"})
    indicators(doctor, diabetes, beds=0)
    indicators(doctor, cardio, beds=0)
    result = segments_recompute(now=NOW)
    assert result.skipped_areas == ("diabetes",)
    assert DoctorSegment.objects.get(doctor=doctor, therapy_area=diabetes).cell == "A3"
    assert DoctorSegment.objects.get(doctor=doctor, therapy_area=cardio).cell == "C3"


@pytest.mark.django_db
def test_recompute_query_count_does_not_grow_with_doctors(diabetes, django_assert_max_num_queries):
    def make(n):
        for i in range(n):
            d = make_doctor(specialties=[diabetes])
            indicators(d, diabetes, beds=i)
            event(d, EngagementKind.CONTENT_READ, NOW - timedelta(days=1), diabetes)
            event(d, EngagementKind.MEETING_ATTENDED, NOW - timedelta(days=1))

    make(3)
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        segments_recompute(now=NOW)
    make(30)
    with CaptureQueriesContext(connection) as many:
        segments_recompute(now=NOW)
    assert len(many) == len(few)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_runs_write_one_history_row_per_change():
    # Earlier transactional tests may have flushed the migration's rows: the area is made if missing.
    diabetes, _ = TherapyArea.objects.get_or_create(code="diabetes", defaults={"name": "糖尿病"})
    doctors = [make_doctor() for _ in range(5)]
    for d in doctors:
        indicators(d, diabetes, beds=50)
    errors = exceptions(race(8, lambda i: segments_recompute(therapy_area=diabetes, now=NOW)))
    assert errors == []
    assert DoctorSegment.objects.count() == 5
    assert SegmentChange.objects.count() == 5
    assert AuditEntry.objects.filter(action="segments.recompute").count() == 8


def valid_config():
    return {"potential_thresholds": {g: {k: dict(v) for k, v in grades.items()}
                                     for g, grades in DEFAULT_THRESHOLDS.items()},
            "support_weights": dict(DEFAULT_WEIGHTS), "support_cutoffs": dict(DEFAULT_CUTOFFS)}


def broken(path, value):
    config = valid_config()
    target = config
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return config


@pytest.mark.django_db
@pytest.mark.parametrize("config", [
    broken(("potential_thresholds", "big5", "A", "beds_in_charge"), -1),
    broken(("potential_thresholds", "big5", "A", "beds_in_charge"), 10),  # below B's 20
    broken(("potential_thresholds", "other", "B", "weekly_outpatients"), "lots"),
    broken(("potential_thresholds", "other", "B", "weekly_outpatients"), True),
    broken(("potential_thresholds", "other", "B", "weekly_outpatients"), 10**9),
    broken(("potential_thresholds", "other", "B", "weekly_outpatients"), KeyError),
    broken(("potential_thresholds", "other"), KeyError),
    broken(("potential_thresholds", "prescriptions"), {"A": {}, "B": {}}),
    broken(("support_weights", "content_read"), -2),
    broken(("support_weights", "content_read"), KeyError),
    broken(("support_weights", "prescriptions"), 5),
    broken(("support_cutoffs", "1"), 20),  # equal to cut-off 2
    broken(("support_cutoffs", "1"), 10),
    broken(("support_cutoffs", "2"), None),
    {"potential_thresholds": [], "support_weights": "x", "support_cutoffs": 3},
])
def test_bad_configuration_is_refused_and_nothing_saved(diabetes, role_user, config):
    stored = SegmentationConfig.objects.get(therapy_area=diabetes)
    with pytest.raises(DomainError) as caught:
        segmentation_config_update(therapy_area=diabetes, actor=role_user("admin"), **config)
    assert caught.value.code == "segmentation_config_invalid"
    fresh = SegmentationConfig.objects.get(therapy_area=diabetes)
    assert (fresh.potential_thresholds, fresh.support_weights, fresh.support_cutoffs) == (
        stored.potential_thresholds, stored.support_weights, stored.support_cutoffs)
    assert not AuditEntry.objects.filter(action="segments.config_update").exists()


@pytest.mark.django_db
def test_configuration_update_is_audited(diabetes, role_user, django_capture_on_commit_callbacks):
    config = broken(("support_cutoffs", "1"), 80)
    admin = role_user("admin")
    with django_capture_on_commit_callbacks() as callbacks:
        segmentation_config_update(therapy_area=diabetes, actor=admin, **config)
    assert len(callbacks) == 1  # the area's recompute is queued after commit
    assert SegmentationConfig.objects.get(therapy_area=diabetes).support_cutoffs == {"1": 80, "2": 20}
    entry = AuditEntry.objects.get(action="segments.config_update")
    assert entry.before["support_cutoffs"] == {"1": 60, "2": 20}
    assert entry.after["support_cutoffs"] == {"1": 80, "2": 20}
    assert entry.actor_id == admin.pk
    # The same values again: no write, no audit.
    segmentation_config_update(therapy_area=diabetes, actor=admin, **config)
    assert AuditEntry.objects.filter(action="segments.config_update").count() == 1


@pytest.mark.django_db
def test_indicators_save_regrades_at_once_and_is_audited(diabetes, role_user):
    doctor = make_doctor(city="杭州市")
    marketing = role_user("marketing")
    doctor_indicators_save(doctor=doctor, therapy_area=diabetes, beds_in_charge=0, weekly_outpatients=300,
                           weekly_target_patients=0, kol_tier=KolTier.LOCAL, actor=marketing)
    seg = DoctorSegment.objects.get(doctor=doctor, therapy_area=diabetes)
    assert (seg.cell, seg.kol_tier) == ("A3", "local")
    entry = AuditEntry.objects.get(action="segments.indicators_save")
    assert entry.before is None and entry.after["weekly_outpatients"] == 300

    with pytest.raises(DomainError) as caught:
        doctor_indicators_save(doctor=doctor, therapy_area=diabetes, beds_in_charge=-1, weekly_outpatients=0,
                               weekly_target_patients=0, kol_tier="galactic", actor=marketing)
    assert caught.value.code == "indicators_invalid"
    assert DoctorIndicators.objects.get(doctor=doctor).weekly_outpatients == 300

    staff_only = role_user("rep")
    with pytest.raises(DomainError) as caught:
        doctor_indicators_save(doctor=staff_only, therapy_area=diabetes, beds_in_charge=1, weekly_outpatients=0,
                               weekly_target_patients=0, kol_tier="none", actor=marketing)
    assert caught.value.code == "not_a_doctor"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_indicator_saves_keep_one_row_and_one_segment():
    # Earlier transactional tests may have flushed the migration's rows: the area is made if missing.
    diabetes, _ = TherapyArea.objects.get_or_create(code="diabetes", defaults={"name": "糖尿病"})
    doctor = make_doctor()
    from tests.factories import UserFactory

    staff = UserFactory()  # the service leaves role checks to its callers

    def save(i):
        doctor_indicators_save(doctor=doctor, therapy_area=diabetes, beds_in_charge=15 + 3 * i, weekly_outpatients=0,
                               weekly_target_patients=0, kol_tier="none", actor=staff)

    errors = exceptions(race(8, save))
    assert errors == []
    assert DoctorIndicators.objects.filter(doctor=doctor).count() == 1
    assert DoctorSegment.objects.filter(doctor=doctor).count() == 1
    final = DoctorIndicators.objects.get(doctor=doctor).beds_in_charge
    expected = potential_grade(thresholds=DEFAULT_THRESHOLDS, city="上海市", indicators={
        "beds_in_charge": final, "weekly_outpatients": 0, "weekly_target_patients": 0})
    assert DoctorSegment.objects.get(doctor=doctor).potential == expected  # the segment follows the last save
