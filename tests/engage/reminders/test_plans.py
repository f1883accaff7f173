"""Tapering plans, and the treating doctor changing, pausing, resuming and stopping a plan; follow-up checks.

A change touches only dose events still `scheduled` from now on; queued, sent and confirmed ones never change."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser

from engage.audit.models import AuditEntry
from engage.core.errors import DomainError
from engage.messaging.models import OutboundMessage
from engage.reminders import services
from engage.reminders.models import DoseEvent, FollowUpPlan, MedicationPlan
from engage.reminders.services import FollowUpSchedule, TaperStep, checkups_remind, doses_dispatch, doses_materialise
from tests.engage.reminders.conftest import plan_schedule
from tests.factories import make_doctor

NOW = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)  # 08:00 on 1 June in Shanghai
S = DoseEvent.Status
TAPER = [TaperStep("4 片", 7), TaperStep("3 片", 7), TaperStep("2 片", 7), TaperStep("1 片", 7)]


def _live(plan):
    return DoseEvent.objects.filter(plan=plan).exclude(status=S.CANCELLED)


def _materialise_days(days: int):
    """Runs the beat's materialiser over `days` days from NOW, as the minute tick would (every 24 h suffices)."""
    for day in range(days + 1):
        doses_materialise(now=NOW + timedelta(days=day))


# --- Tapering -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_taper_plan_gives_each_day_its_steps_dose_and_ends_with_the_last_step(make_patient, make_plan,
                                                                              recorded_deliveries):
    patient = make_patient()
    plan = make_plan(patient, times=["08:00", "20:00"], start=date(2026, 6, 1), dose_text="", taper=TAPER)
    assert plan.end_date == date(2026, 6, 28)  # 4 steps of 7 days
    assert plan.dose_text == "4 片 → 3 片 → 2 片 → 1 片"
    _materialise_days(31)
    by_day = {}
    for dose in _live(plan):
        by_day.setdefault(dose.local_date, set()).add(dose.dose_text)
    assert by_day[date(2026, 6, 1)] == by_day[date(2026, 6, 7)] == {"4 片"}
    assert by_day[date(2026, 6, 8)] == by_day[date(2026, 6, 14)] == {"3 片"}
    assert by_day[date(2026, 6, 15)] == {"2 片"} and by_day[date(2026, 6, 22)] == {"1 片"}
    assert max(by_day) == date(2026, 6, 28) and len(by_day) == 28
    assert _live(plan).count() == 56
    # The reminder says that day's dose.
    doses_dispatch(now=datetime(2026, 6, 8, 0, 0, 30, tzinfo=UTC))
    message = OutboundMessage.objects.get(purpose="dose_reminder", idempotency_key__startswith="dose:")
    assert "3 片" in message.rendered and "4 片" not in message.rendered


@pytest.mark.django_db
@pytest.mark.parametrize(("kwargs", "code"), [
    ({"taper": [TaperStep("4 片", 0)]}, "invalid_taper"),
    ({"taper": [TaperStep("4 片", 366)]}, "invalid_taper"),
    ({"taper": [TaperStep("  ", 7)]}, "invalid_taper"),
    ({"taper": [TaperStep("4 片", "7")]}, "invalid_taper"),
    ({"taper": [TaperStep("4 片", True)]}, "invalid_taper"),
    ({"taper": [TaperStep(f"{n} 片", 1) for n in range(13)]}, "invalid_taper"),
    ({"taper": TAPER, "as_needed": True}, "invalid_taper"),
    ({"dose_text": ""}, "plan_incomplete"),
    ({"schedule_kind": "hourly"}, "invalid_schedule"),
])
def test_malformed_taper_or_plan_is_refused_and_nothing_is_written(make_patient, make_plan, kwargs, code):
    patient = make_patient()
    with pytest.raises(DomainError) as refused:
        make_plan(patient, **kwargs)
    assert refused.value.code == code
    assert not MedicationPlan.objects.filter(patient=patient).exists()


# --- Changing a plan --------------------------------------------------------------------------------------------


@pytest.fixture
def running_plan(make_patient, make_plan, recorded_deliveries):
    """A plan at 08:00 and 20:00 from 1 June with 48 h of events; at NOW (1 June 08:00 local) the 08:00 dose was
    sent and taken, the 20:00 one is claimed (queued, its reminder written), the next day's 08:00 one was confirmed
    early on the page; the rest is scheduled."""
    patient = make_patient()
    plan = make_plan(patient, times=["08:00", "20:00"], start=date(2026, 6, 1))
    doses_materialise(now=NOW - timedelta(minutes=1))
    doses = {(d.local_date.day, d.local_time.hour): d for d in DoseEvent.objects.filter(plan=plan)}
    doses_dispatch(now=NOW)
    DoseEvent.objects.filter(pk=doses[1, 8].pk).update(status=S.TAKEN, confirmed_at=NOW)
    DoseEvent.objects.filter(pk=doses[1, 20].pk).update(status=S.QUEUED, queued_at=NOW)
    DoseEvent.objects.filter(pk=doses[2, 8].pk).update(status=S.TAKEN, confirmed_at=NOW)
    return patient, plan, doses


def _snapshot(dose_ids):
    return {d.pk: (d.status, d.dose_text, d.message_id, d.local_time, d.updated_at)
            for d in DoseEvent.objects.filter(pk__in=dose_ids)}


@pytest.mark.django_db
def test_edit_recomputes_scheduled_doses_ahead_and_never_touches_sent_queued_or_confirmed(running_plan):
    patient, plan, doses = running_plan
    untouchable = [doses[1, 8].pk, doses[1, 20].pk, doses[2, 8].pk]
    before = _snapshot(untouchable)
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        services.medication_plan_update(
            plan=plan, schedule=plan_schedule(times=["08:00", "20:00", "12:00"], start=date(2026, 6, 1),
                                              dose_text="1000 mg"), actor=patient.doctor)
    assert _snapshot(untouchable) == before
    assert DoseEvent.objects.get(pk=doses[2, 20].pk).status == S.CANCELLED
    assert DoseEvent.objects.get(pk=doses[2, 20].pk).status_reason == "plan_changed"
    live = {(d.local_date.day, d.local_time.hour): d for d in _live(plan)}
    # One live event per slot: the queued and confirmed ones keep theirs, the others are recomputed.
    assert _live(plan).count() == len(live)
    assert live[1, 20].pk == doses[1, 20].pk and live[2, 8].pk == doses[2, 8].pk
    assert live[1, 12].dose_text == live[2, 20].dose_text == live[3, 8].dose_text == "1000 mg"
    assert live[1, 12].status == S.SCHEDULED and (1, 8) in live and live[1, 8].pk == doses[1, 8].pk
    entry = AuditEntry.objects.get(action="reminders.plan_update")
    assert entry.before["dose"] == "500 mg" and entry.after["dose"] == "1000 mg"


@pytest.mark.django_db
def test_edit_to_a_taper_plan_gives_the_days_ahead_their_step(running_plan):
    patient, plan, _doses = running_plan
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        services.medication_plan_update(
            plan=plan, schedule=plan_schedule(times=["08:00", "20:00"], start=date(2026, 6, 2), dose_text="",
                                              taper=[TaperStep("2 片", 1), TaperStep("1 片", 1)]),
            actor=patient.doctor)
    plan.refresh_from_db()
    assert plan.end_date == date(2026, 6, 3)
    live = {(d.local_date.day, d.local_time.hour): d.dose_text for d in _live(plan)}
    assert live[2, 20] == "2 片" and live[3, 8] == "1 片"
    assert live[2, 8] == live[1, 20] == "500 mg"  # confirmed early and queued before: kept as they were


@pytest.mark.django_db
def test_pause_cancels_scheduled_doses_and_resume_starts_again_from_now(running_plan):
    patient, plan, doses = running_plan
    untouchable = [doses[1, 8].pk, doses[1, 20].pk, doses[2, 8].pk]
    before = _snapshot(untouchable)
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        services.medication_plan_pause(plan=plan, actor=patient.doctor)
        services.medication_plan_pause(plan=plan, actor=patient.doctor)  # harmless twice
    assert _snapshot(untouchable) == before
    assert not plan.doses.filter(status=S.SCHEDULED).exists()
    assert set(plan.doses.filter(status=S.CANCELLED).values_list("status_reason", flat=True)) == {"plan_paused"}
    assert doses_materialise(now=NOW + timedelta(days=2)) == 0  # the beat leaves a paused plan alone
    assert AuditEntry.objects.filter(action="reminders.plan_pause").count() == 1

    resumed_at = NOW + timedelta(days=2, hours=1)  # 3 June 09:00 local
    with time_machine.travel(resumed_at, tick=False):
        services.medication_plan_resume(plan=plan, actor=patient.doctor)
    scheduled = plan.doses.filter(status=S.SCHEDULED)
    assert scheduled.exists() and all(d.due_at >= resumed_at for d in scheduled)  # the pause is not replayed
    assert {(d.local_date, d.local_time) for d in scheduled} >= {(date(2026, 6, 3), time(20, 0)),
                                                                 (date(2026, 6, 4), time(8, 0))}
    assert _snapshot(untouchable) == before
    assert AuditEntry.objects.filter(action="reminders.plan_resume").count() == 1


@pytest.mark.django_db
def test_stop_cancels_scheduled_doses_and_a_stopped_plan_cannot_change(running_plan):
    patient, plan, doses = running_plan
    before = _snapshot([doses[1, 20].pk])
    services.medication_plan_stop(plan=plan, actor=patient.doctor)
    services.medication_plan_stop(plan=plan, actor=patient.doctor)
    assert _snapshot([doses[1, 20].pk]) == before
    assert not plan.doses.filter(status=S.SCHEDULED).exists()
    assert AuditEntry.objects.filter(action="reminders.plan_stop").count() == 1
    for change in (lambda: services.medication_plan_pause(plan=plan, actor=patient.doctor),
                   lambda: services.medication_plan_update(plan=plan, schedule=plan_schedule(),
                                                           actor=patient.doctor)):
        with pytest.raises(DomainError) as refused:
            change()
        assert refused.value.code == "plan_stopped"


@pytest.mark.django_db
def test_malformed_edit_changes_nothing(running_plan):
    patient, plan, _doses = running_plan
    before = _snapshot(plan.doses.values_list("pk", flat=True))
    with pytest.raises(DomainError) as refused:
        services.medication_plan_update(plan=plan, schedule=plan_schedule(times=["25:00"]), actor=patient.doctor)
    assert refused.value.code == "invalid_times"
    plan.refresh_from_db()
    assert plan.times == ["08:00", "20:00"] and _snapshot(plan.doses.values_list("pk", flat=True)) == before
    assert not AuditEntry.objects.filter(action="reminders.plan_update").exists()


def _actor(who, patient, role_user, doctor):
    if who == "other_doctor":
        return make_doctor()
    if who == "unverified_doctor":
        patient.doctor = doctor  # even their own patient: verification first
        patient.save(update_fields=["doctor"])
        return doctor
    if who == "anonymous":
        return AnonymousUser()
    return role_user(who)


PLAN_CHANGES = {
    "update": lambda plan, actor: services.medication_plan_update(plan=plan, schedule=plan_schedule(dose_text="1 g"),
                                                                 actor=actor),
    "pause": lambda plan, actor: services.medication_plan_pause(plan=plan, actor=actor),
    "resume": lambda plan, actor: services.medication_plan_resume(plan=plan, actor=actor),
    "stop": lambda plan, actor: services.medication_plan_stop(plan=plan, actor=actor),
}


@pytest.mark.django_db
@pytest.mark.parametrize("change", list(PLAN_CHANGES))
@pytest.mark.parametrize("who", ["other_doctor", "unverified_doctor", "rep", "marketing", "admin", "anonymous"])
def test_only_the_treating_verified_doctor_changes_a_plan(running_plan, role_user, doctor, programme, change, who):
    patient, plan, _doses = running_plan
    MedicationPlan.objects.filter(pk=plan.pk).update(paused_at=NOW)  # so that resume has something to do
    before = _snapshot(plan.doses.values_list("pk", flat=True))
    actor = _actor(who, patient, role_user, doctor)
    if who in ("marketing", "rep"):  # programme staff see the patient, and still may not change the plan
        programme.staff.add(actor)
    with pytest.raises(DomainError) as refused:
        PLAN_CHANGES[change](plan, actor)
    assert refused.value.code == "not_treating_doctor" and refused.value.status == 403
    changed = MedicationPlan.objects.get(pk=plan.pk)
    assert (changed.dose_text, changed.is_active, changed.paused_at) == ("500 mg", True, NOW)
    assert _snapshot(plan.doses.values_list("pk", flat=True)) == before


# --- Follow-up checks -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_hba1c_every_90_days_and_a_one_off_visit(make_patient, recorded_deliveries):
    patient = make_patient()
    hba1c = services.follow_up_plan_create(
        patient=patient, schedule=FollowUpSchedule(title="HbA1c", due_date=date(2026, 6, 1), interval_days=90),
        actor=patient.doctor)
    visit = services.follow_up_plan_create(
        patient=patient, schedule=FollowUpSchedule(title="门诊复诊", due_date=date(2026, 6, 1),
                                                   remind_at=time(8, 0)), actor=patient.doctor)
    assert hba1c.created_by == patient.doctor
    assert checkups_remind(now=datetime(2026, 6, 1, 1, 0, tzinfo=UTC)) == 2  # 09:00 local
    hba1c.refresh_from_db()
    visit.refresh_from_db()
    assert hba1c.next_due_date == date(2026, 8, 30) and hba1c.is_active
    assert not visit.is_active
    assert AuditEntry.objects.filter(action="reminders.follow_up_plan_create").count() == 2


@pytest.mark.django_db
def test_treating_doctor_edits_a_follow_up(make_patient):
    patient = make_patient()
    plan = services.follow_up_plan_create(
        patient=patient, schedule=FollowUpSchedule(title="HbA1c", due_date=date(2026, 6, 1), interval_months=3),
        actor=patient.doctor)
    services.follow_up_plan_update(
        plan=plan, schedule=FollowUpSchedule(title="HbA1c 复查", due_date=date(2026, 7, 1), interval_days=90,
                                             remind_at=time(10, 30)), actor=patient.doctor)
    plan.refresh_from_db()
    assert (plan.title, plan.next_due_date, plan.interval_days, plan.interval_months, plan.remind_at) == (
        "HbA1c 复查", date(2026, 7, 1), 90, None, time(10, 30))
    entry = AuditEntry.objects.get(action="reminders.follow_up_plan_update")
    assert entry.before["due"] == "2026-06-01" and entry.after["every_days"] == 90
    services.follow_up_plan_update(plan=plan, schedule=FollowUpSchedule(title="HbA1c", due_date=date(2026, 7, 1)),
                                   is_active=False, actor=patient.doctor)
    assert checkups_remind(now=datetime(2026, 7, 1, 3, 0, tzinfo=UTC)) == 0


@pytest.mark.django_db
@pytest.mark.parametrize(("schedule", "code"), [
    (FollowUpSchedule(title=" ", due_date=date(2026, 6, 1)), "plan_incomplete"),
    (FollowUpSchedule(title="HbA1c", due_date=date(2026, 6, 1), interval_days=0), "invalid_interval"),
    (FollowUpSchedule(title="HbA1c", due_date=date(2026, 6, 1), interval_days=731), "invalid_interval"),
    (FollowUpSchedule(title="HbA1c", due_date=date(2026, 6, 1), interval_days=90, interval_months=3),
     "invalid_interval"),
    (FollowUpSchedule(title="HbA1c", due_date=None), "invalid_dates"),
])
def test_malformed_follow_up_is_refused(make_patient, schedule, code):
    patient = make_patient()
    with pytest.raises(DomainError) as refused:
        services.follow_up_plan_create(patient=patient, schedule=schedule, actor=patient.doctor)
    assert refused.value.code == code
    assert not FollowUpPlan.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["other_doctor", "unverified_doctor", "rep", "marketing", "admin", "anonymous"])
def test_only_the_treating_verified_doctor_creates_or_edits_follow_ups(make_patient, role_user, doctor, who):
    patient = make_patient()
    plan = services.follow_up_plan_create(
        patient=patient, schedule=FollowUpSchedule(title="HbA1c", due_date=date(2026, 6, 1), interval_days=90),
        actor=patient.doctor)
    actor = _actor(who, patient, role_user, doctor)
    schedule = FollowUpSchedule(title="HbA1c", due_date=date(2027, 1, 1))
    for change in (lambda: services.follow_up_plan_create(patient=patient, schedule=schedule, actor=actor),
                   lambda: services.follow_up_plan_update(plan=plan, schedule=schedule, actor=actor)):
        with pytest.raises(DomainError) as refused:
            change()
        assert refused.value.code == "not_treating_doctor"
    plan.refresh_from_db()
    assert FollowUpPlan.objects.count() == 1 and plan.next_due_date == date(2026, 6, 1)
