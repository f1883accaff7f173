"""A doctor changing a plan while the beat works on it, with real threads on PostgreSQL: a dose the dispatcher has
claimed is neither changed nor sent twice, and the materialiser never brings back the old plan."""

import threading
import time
from datetime import timedelta

import pytest
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
