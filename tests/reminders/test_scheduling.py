"""Materialising dose events: schedules, the 48-hour horizon and time zones (gaps and repeats of DST)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from engage.reminders.models import DoseEvent, MedicationPlan
from engage.reminders.services_dispatch import doses_materialise, local_due_at

NY = ZoneInfo("America/New_York")
SH = ZoneInfo("Asia/Shanghai")


def test_shanghai_has_no_dst():
    assert local_due_at(date(2026, 3, 8), time(8, 0), SH) == datetime(2026, 3, 8, 0, 0, tzinfo=UTC)


def test_spring_forward_gap_fires_at_first_valid_instant():
    # 2026-03-08 02:00 EST jumps to 03:00 EDT: 02:30 does not exist; due at 03:00 EDT = 07:00 UTC.
    assert local_due_at(date(2026, 3, 8), time(2, 30), NY) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert local_due_at(date(2026, 3, 8), time(3, 30), NY) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert local_due_at(date(2026, 3, 7), time(2, 30), NY) == datetime(2026, 3, 7, 7, 30, tzinfo=UTC)


def test_fall_back_repeat_fires_once_at_first_occurrence():
    # 2026-11-01 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST): the first one.
    assert local_due_at(date(2026, 11, 1), time(1, 30), NY) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


@pytest.mark.django_db
def test_materialise_48_hours_once(make_patient, make_plan):
    patient = make_patient()
    make_plan(patient, times=["08:00", "20:00"])
    now = datetime(2026, 5, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    assert doses_materialise(now=now) == 4  # 20:00 today, 08:00 + 20:00 tomorrow, 08:00 the day after
    doses = list(DoseEvent.objects.order_by("due_at"))
    assert [(d.local_date, d.local_time) for d in doses] == [
        (date(2026, 5, 1), time(20)), (date(2026, 5, 2), time(8)), (date(2026, 5, 2), time(20)),
        (date(2026, 5, 3), time(8)),
    ]
    assert doses[0].due_at == datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert all(now <= d.due_at < now + timedelta(hours=48) for d in doses)
    # The same tick again, or the next minute's: nothing new, nothing twice.
    assert doses_materialise(now=now) == 0
    doses_materialise(now=now + timedelta(minutes=1))
    assert DoseEvent.objects.count() == 4
    # An hour and more later the horizon moves on by what is new only.
    doses_materialise(now=now + timedelta(hours=12))
    assert DoseEvent.objects.count() == 5
    assert DoseEvent.objects.values("plan", "local_date", "local_time").distinct().count() == 5


@pytest.mark.django_db
def test_plan_materialisation_sees_patient_time_zone(make_patient, make_plan):
    patient = make_patient(time_zone="America/New_York")
    make_plan(patient, times=["08:00"])
    doses_materialise(now=datetime(2026, 5, 1, 0, 0, tzinfo=UTC))  # 20:00 on 30 April in New York
    first = DoseEvent.objects.order_by("due_at").first()
    assert (first.local_date, first.local_time) == (date(2026, 5, 1), time(8))
    assert first.due_at == datetime(2026, 5, 1, 12, 0, tzinfo=UTC)  # EDT = UTC-4


@pytest.mark.django_db
def test_new_york_across_spring_forward(make_patient, make_plan):
    patient = make_patient(time_zone="America/New_York")
    make_plan(patient, times=["02:30", "08:00"])
    with time_machine.travel(datetime(2026, 3, 7, 12, 0, tzinfo=UTC), tick=False):
        doses_materialise()
    due = {(d.local_date, d.local_time): d.due_at for d in DoseEvent.objects.all()}
    assert due[(date(2026, 3, 8), time(2, 30))] == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # gap: 03:00 EDT
    assert due[(date(2026, 3, 8), time(8))] == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # EDT
    assert due[(date(2026, 3, 7), time(8))] == datetime(2026, 3, 7, 13, 0, tzinfo=UTC)  # still EST
    assert len(due) == 4  # 03-07 08:00, 03-08 02:30 and 08:00, 03-09 02:30 (03-09 08:00 is 48 h away)


@pytest.mark.django_db
def test_new_york_across_fall_back_once(make_patient, make_plan):
    patient = make_patient(time_zone="America/New_York")
    make_plan(patient, times=["01:30"])
    with time_machine.travel(datetime(2026, 10, 31, 12, 0, tzinfo=UTC), tick=False):
        doses_materialise()
    nov1 = DoseEvent.objects.filter(local_date=date(2026, 11, 1))
    assert nov1.count() == 1
    assert nov1.get().due_at == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert DoseEvent.objects.get(local_date=date(2026, 11, 2)).due_at == datetime(2026, 11, 2, 6, 30, tzinfo=UTC)


@pytest.mark.django_db
@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"schedule_kind": "weekdays", "weekdays": [0, 2]}, [date(2026, 6, 1), date(2026, 6, 3)]),  # Mon, Wed
    ({"schedule_kind": "every_n_days", "interval_days": 3}, [date(2026, 6, 1), date(2026, 6, 4)]),
    ({"cycle": (2, 1)}, [date(2026, 6, 1), date(2026, 6, 2), date(2026, 6, 4), date(2026, 6, 5)]),
    ({"end_date": date(2026, 6, 2)}, [date(2026, 6, 1), date(2026, 6, 2)]),
    ({"as_needed": True}, []),
])
def test_schedule_kinds(make_patient, make_plan, kwargs, expected):
    patient = make_patient()
    plan = make_plan(patient, times=["12:00"], start=date(2026, 6, 1), **kwargs)
    days = [date(2026, 6, d) for d in range(1, 6)]
    assert [d for d in days if plan.occurs_on(d)] == expected


@pytest.mark.django_db
def test_opted_out_and_inactive_plans_are_not_materialised(make_patient, make_plan):
    now = datetime(2026, 5, 1, 1, 0, tzinfo=UTC)
    make_plan(make_patient(), times=["12:00"], as_needed=True)
    stopped = make_plan(make_patient(), times=["12:00"])
    MedicationPlan.objects.filter(pk=stopped.pk).update(is_active=False)
    opted = make_patient()
    make_plan(opted, times=["12:00"])
    opted.opted_out_at = now
    opted.save()
    assert doses_materialise(now=now) == 0
