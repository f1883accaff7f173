"""A doctor changing a plan while the beat works on it, with real threads on PostgreSQL: a dose the dispatcher has
claimed is neither changed nor sent twice, and the materialiser never brings back the old plan."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engage.messaging.models import OutboundMessage
from engage.reminders import services
from engage.reminders.models import DoseEvent
from engage.reminders.services import doses_dispatch, doses_materialise
from tests.engage.reminders.conftest import dose_at, plan_schedule
from tests.race import exceptions, race

S = DoseEvent.Status
pytestmark = pytest.mark.django_db(transaction=True)


def _after(claimed: threading.Event):
    """A hook that holds the caller's transaction open for a moment once it has the rows locked."""

    def hook(_locked):
        claimed.set()
        time.sleep(1.0)

    return hook


def test_editing_a_plan_while_its_dose_is_being_claimed(make_patient, make_plan, recorded_deliveries):
    patient = make_patient()
    due = (timezone.now() + timedelta(hours=1)).replace(second=0, microsecond=0)
    local = due.astimezone(patient.tz)
    slot = f"{local:%H:%M}"
    plan = make_plan(patient, times=[slot], start=local.date())
    dose = dose_at(patient, plan, due)
    DoseEvent.objects.filter(pk=dose.pk).update(dose_text="500 mg")
    claimed = threading.Event()

    def act(i):
        if i == 0:
            return doses_dispatch(now=due, after_claim=_after(claimed))
        assert claimed.wait(30)
        return services.medication_plan_update(
            plan=plan, schedule=plan_schedule(times=[slot], start=local.date(), dose_text="1000 mg"),
            actor=patient.doctor)

    errors = exceptions(race(2, act))
    assert not errors, errors
    dose.refresh_from_db()
    # The claimed dose went on as it was: queued, its reminder written once with the old dose.
    assert dose.status == S.QUEUED and dose.dose_text == "500 mg" and dose.message is not None
    assert "500 mg" in dose.message.rendered
    assert OutboundMessage.objects.filter(purpose="dose_reminder").count() == 1
    live = DoseEvent.objects.filter(plan=plan).exclude(status=S.CANCELLED)
    assert live.filter(local_date=local.date(), local_time=local.time()).count() == 1
    later = live.exclude(pk=dose.pk)
    assert later.exists() and set(later.values_list("dose_text", flat=True)) == {"1000 mg"}


def test_editing_a_plan_while_the_beat_materialises_it(make_patient, make_plan):
    patient = make_patient()
    today = timezone.now().astimezone(patient.tz).date()
    plan = make_plan(patient, times=["08:00"], start=today)
    locked = threading.Event()

    def act(i):
        if i == 0:
            return doses_materialise(now=timezone.now(), after_lock=_after(locked))
        assert locked.wait(30)
        return services.medication_plan_update(
            plan=plan, schedule=plan_schedule(times=["09:00"], start=today, dose_text="1000 mg"), actor=patient.doctor)

    errors = exceptions(race(2, act))
    assert not errors, errors
    ahead = DoseEvent.objects.filter(plan=plan, status=S.SCHEDULED, due_at__gte=timezone.now())
    assert ahead.count() == 2  # 48 hours of one dose a day
    assert {(f"{d.local_time:%H:%M}", d.dose_text) for d in ahead} == {("09:00", "1000 mg")}


def _due_doses(make_patient, make_plan, count: int):
    """`count` doses of one patient falling due a minute apart, the last one a minute ago."""
    patient = make_patient()
    now = timezone.now().replace(second=0, microsecond=0)
    plan = make_plan(patient, times=["08:00"], start=now.astimezone(patient.tz).date())
    DoseEvent.objects.filter(plan=plan).delete()
    return now, [dose_at(patient, plan, now - timedelta(minutes=count - k)).pk for k in range(count)]


def test_two_ticks_at_once_claim_every_due_dose_once(make_patient, make_plan, recorded_deliveries):
    now, ids = _due_doses(make_patient, make_plan, 7)

    def act(_i):  # batches of 2, each held a moment: the two ticks take turns and skip each other's locked rows
        return doses_dispatch(now=now, batch=2, after_claim=lambda _locked: time.sleep(0.2))

    results = race(2, act)
    assert not exceptions(results), exceptions(results)
    assert sum(r.queued for r in results) == 7
    assert set(DoseEvent.objects.filter(pk__in=ids).values_list("status", flat=True)) == {S.QUEUED}
    assert OutboundMessage.objects.filter(purpose="dose_reminder").count() == 7
    assert sorted(recorded_deliveries) == sorted(DoseEvent.objects.filter(pk__in=ids).values_list("message_id",
                                                                                                 flat=True))


def test_a_dose_locked_during_the_tick_is_left_to_the_next(make_patient, make_plan, recorded_deliveries):
    now, ids = _due_doses(make_patient, make_plan, 5)
    locked, release = threading.Event(), threading.Event()

    def act(i):
        if i == 0:  # someone holds the first dose's row (a confirmation being written, say)
            with transaction.atomic():
                DoseEvent.objects.select_for_update().get(pk=ids[0])
                locked.set()
                assert release.wait(30)
            return None
        assert locked.wait(30)
        try:  # batches of 2: the second starts past the first batch's last dose, not at the locked one again
            with CaptureQueriesContext(connection) as queries:
                result = doses_dispatch(now=now, batch=2)
        finally:
            release.set()
        return result, [q["sql"] for q in queries.captured_queries if "SKIP LOCKED" in q["sql"]]

    results = race(2, act)
    assert not exceptions(results), exceptions(results)
    result, claims = results[1]
    assert result.queued == 4
    assert len(claims) == 3 and '"id") > (' not in claims[0] and all('"id") > (' in sql for sql in claims[1:])
    assert DoseEvent.objects.get(pk=ids[0]).status == S.SCHEDULED
    assert doses_dispatch(now=now).queued == 1  # the next tick
    assert set(DoseEvent.objects.filter(pk__in=ids).values_list("status", flat=True)) == {S.QUEUED}
