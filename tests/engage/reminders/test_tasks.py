"""Sending due reminders: once, on time, with consent; follow-ups, escalation, quiet hours, expiry, opt-out."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from engage.messaging.models import OutboundMessage
from engage.reminders import services
from engage.reminders.models import DoseEvent, Patient, Programme
from engage.reminders.services import (
    doses_dispatch,
    doses_escalate,
    doses_follow_up,
    doses_mark_missed,
    reminders_tick,
)
from tests.engage.reminders.conftest import dose_at

NOW = datetime(2026, 5, 1, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
S = DoseEvent.Status


@pytest.fixture
def setup(make_patient, make_plan, recorded_deliveries):
    patient = make_patient()
    plan = make_plan(patient, times=["08:00"])
    return patient, plan


@pytest.mark.django_db
def test_due_dose_is_queued_once_with_its_time(setup, recorded_deliveries):
    patient, plan = setup
    dose = dose_at(patient, plan, NOW)
    result = doses_dispatch(now=NOW + timedelta(seconds=20))
    assert result.queued == 1
    dose.refresh_from_db()
    assert dose.status == S.QUEUED and dose.message is not None
    message = dose.message
    assert message.idempotency_key == f"dose:{dose.pk}"
    assert message.purpose == "dose_reminder"
    assert message.channel == "sms" and message.recipient == patient.mobile
    assert "08:00" in message.rendered and "二甲双胍" in message.rendered
    # A second tick, or the same task delivered twice, finds nothing left.
    assert doses_dispatch(now=NOW + timedelta(seconds=40)).queued == 0
    assert reminders_tick(now=NOW + timedelta(minutes=1))["queued"] == 0
    assert OutboundMessage.objects.filter(purpose="dose_reminder").count() == 1


@pytest.mark.django_db
def test_future_doses_wait(setup):
    patient, plan = setup
    dose_at(patient, plan, NOW + timedelta(minutes=1))
    assert doses_dispatch(now=NOW).queued == 0
    assert OutboundMessage.objects.count() == 0


@pytest.mark.django_db
def test_stale_dose_expires_instead_of_sending(setup):
    patient, plan = setup
    dose = dose_at(patient, plan, NOW)
    result = doses_dispatch(now=NOW + timedelta(minutes=16))
    assert (result.queued, result.expired) == (0, 1)
    dose.refresh_from_db()
    assert dose.status == S.EXPIRED
    assert OutboundMessage.objects.count() == 0


@pytest.mark.django_db
def test_english_patient_gets_english_reminder(make_patient, make_plan, recorded_deliveries):
    patient = make_patient(language="en")
    dose = dose_at(patient, make_plan(patient, drug="Metformin"), NOW)
    doses_dispatch(now=NOW)
    dose.refresh_from_db()
    assert "your 08:00 dose: Metformin" in dose.message.rendered


@pytest.mark.django_db
def test_opt_out_stops_all_future_sends(setup, make_plan):
    patient, plan = setup
    later = make_plan(patient, times=["20:00"], drug="阿卡波糖")
    doses = [dose_at(patient, plan, NOW), dose_at(patient, later, NOW + timedelta(hours=12))]
    services.patient_opt_out(patients=[patient], source="test")
    assert {d.status for d in DoseEvent.objects.filter(pk__in=[d.pk for d in doses])} == {S.CANCELLED}
    reminders_tick(now=NOW)
    reminders_tick(now=NOW + timedelta(hours=12))
    assert OutboundMessage.objects.count() == 0
    assert DoseEvent.objects.filter(status=S.SCHEDULED).count() == 0  # nothing materialised after opt-out


@pytest.mark.django_db
def test_opt_out_racing_the_pick_is_honoured_at_pick_time(setup):
    patient, plan = setup
    dose = dose_at(patient, plan, NOW)
    Patient.objects.filter(pk=patient.pk).update(opted_out_at=NOW)  # e.g. the row was materialised just before
    DoseEvent.objects.filter(pk=dose.pk).update(status=S.SCHEDULED)
    assert doses_dispatch(now=NOW).cancelled == 1
    dose.refresh_from_db()
    assert (dose.status, dose.status_reason) == (S.CANCELLED, "opted_out")
    assert OutboundMessage.objects.count() == 0


@pytest.mark.django_db
def test_withdrawn_health_consent_cancels(setup):
    patient, plan = setup
    dose = dose_at(patient, plan, NOW)
    services.consent_withdraw(patient=patient, kind="health_information")
    doses_dispatch(now=NOW)
    dose.refresh_from_db()
    assert dose.status == S.CANCELLED
    assert OutboundMessage.objects.count() == 0


@pytest.mark.django_db
def test_wechat_with_sms_fallback_only_when_sms_consented(make_patient, make_plan, recorded_deliveries):
    both = make_patient(openid="oWX-both", preferred_channel="wechat",
                        kinds={"programme", "health_information", "sms", "wechat"})
    wechat_only = make_patient(openid="oWX-only", preferred_channel="wechat",
                               kinds={"programme", "health_information", "wechat"})
    d1 = dose_at(both, make_plan(both), NOW)
    d2 = dose_at(wechat_only, make_plan(wechat_only), NOW)
    doses_dispatch(now=NOW)
    d1.refresh_from_db()
    d2.refresh_from_db()
    assert (d1.message.channel, d1.message.recipient, d1.message.fallback_sms_to) == (
        "wechat_template", "oWX-both", both.mobile)
    assert (d2.message.channel, d2.message.fallback_sms_to) == ("wechat_template", "")


@pytest.mark.django_db
def test_follow_up_once_after_30_minutes(setup):
    patient, plan = setup
    dose = dose_at(patient, plan, NOW)
    doses_dispatch(now=NOW)
    assert doses_follow_up(now=NOW + timedelta(minutes=29)) == 0
    assert doses_follow_up(now=NOW + timedelta(minutes=30)) == 1
    assert doses_follow_up(now=NOW + timedelta(minutes=31)) == 0
    assert doses_follow_up(now=NOW + timedelta(minutes=50)) == 0
    follow_up = OutboundMessage.objects.get(purpose="dose_follow_up")
    assert follow_up.idempotency_key == f"dose:{dose.pk}:follow_up"
    assert "08:00" in follow_up.rendered


@pytest.mark.django_db
def test_confirmed_dose_gets_no_follow_up(setup):
    patient, plan = setup
    dose_at(patient, plan, NOW)
    doses_dispatch(now=NOW)
    services.dose_confirm_by_reply(patients=[patient], status=S.TAKEN, via="sms", now=NOW + timedelta(minutes=5))
    assert doses_follow_up(now=NOW + timedelta(minutes=30)) == 0
    assert doses_escalate(now=NOW + timedelta(minutes=60)) == 0


@pytest.mark.django_db
def test_escalation_to_consenting_caregiver_after_60_minutes(make_patient, make_plan, recorded_deliveries):
    patient = make_patient(caregiver=True)
    dose = dose_at(patient, make_plan(patient), NOW)
    doses_dispatch(now=NOW)
    assert doses_escalate(now=NOW + timedelta(minutes=59)) == 0
    assert doses_escalate(now=NOW + timedelta(minutes=60)) == 1
    assert doses_escalate(now=NOW + timedelta(minutes=61)) == 0
    message = OutboundMessage.objects.get(purpose="dose_escalation")
    assert message.recipient == patient.caregiver.mobile
    assert message.idempotency_key == f"dose:{dose.pk}:escalation"


@pytest.mark.django_db
def test_no_escalation_without_caregiver_consent(make_patient, make_plan, recorded_deliveries):
    patient = make_patient(caregiver=True)
    services.consent_withdraw(patient=patient, kind="programme", caregiver=patient.caregiver)
    dose_at(patient, make_plan(patient), NOW)
    doses_dispatch(now=NOW)
    assert doses_escalate(now=NOW + timedelta(minutes=60)) == 0


@pytest.mark.django_db
def test_quiet_hours_hold_follow_ups_never_the_dose(make_patient, make_plan, recorded_deliveries):
    # Quiet 22:00-07:00 Shanghai. A 06:20 dose is sent at 06:20; its follow-up (06:50) waits until 07:00.
    patient = make_patient(quiet=(time(22), time(7)), caregiver=True)
    plan = make_plan(patient, times=["06:20"])
    due = datetime(2026, 4, 30, 22, 20, tzinfo=UTC)  # 06:20 local
    dose_at(patient, plan, due)
    assert doses_dispatch(now=due).queued == 1
    assert doses_follow_up(now=due + timedelta(minutes=30)) == 0  # 06:50: held
    assert doses_follow_up(now=due + timedelta(minutes=39)) == 0  # 06:59: held
    assert doses_follow_up(now=due + timedelta(minutes=40)) == 1  # 07:00: sent
    assert doses_escalate(now=due + timedelta(minutes=60)) == 1  # 07:20


@pytest.mark.django_db
def test_quiet_hours_late_dose_follow_up_dropped_when_window_closes(make_patient, make_plan, recorded_deliveries):
    patient = make_patient(quiet=(time(22), time(7)))
    due = datetime(2026, 4, 30, 13, 45, tzinfo=UTC)  # 21:45 local
    dose = dose_at(patient, make_plan(patient, times=["21:45"]), due)
    doses_dispatch(now=due)
    assert doses_follow_up(now=due + timedelta(minutes=30)) == 0  # 22:15, quiet
    doses_mark_missed(now=due + timedelta(hours=2))
    dose.refresh_from_db()
    assert dose.status == S.MISSED
    assert doses_follow_up(now=due + timedelta(hours=9, minutes=15)) == 0  # 07:00 next day: too late
    assert OutboundMessage.objects.filter(purpose="dose_follow_up").count() == 0


@pytest.mark.django_db
def test_unconfirmed_dose_is_missed_after_window(setup):
    patient, plan = setup
    dose = dose_at(patient, plan, NOW)
    doses_dispatch(now=NOW)
    assert doses_mark_missed(now=NOW + timedelta(hours=1, minutes=59)) == 0
    assert doses_mark_missed(now=NOW + timedelta(hours=2)) == 1
    dose.refresh_from_db()
    assert dose.status == S.MISSED


@pytest.mark.django_db
def test_tick_materialises_and_sends(setup):
    counts = reminders_tick(now=NOW - timedelta(minutes=1))
    assert counts["materialised"] == 2 and counts["queued"] == 0
    assert reminders_tick(now=NOW)["queued"] == 1
    assert reminders_tick(now=NOW + timedelta(minutes=1))["queued"] == 0


@pytest.mark.django_db
def test_checkup_reminder_on_its_day_then_every_three_months(make_patient, recorded_deliveries):
    from datetime import date

    from engage.reminders.services import checkups_remind

    patient = make_patient()
    plan = services.follow_up_plan_create(
        patient=patient, schedule=services.FollowUpSchedule(title="HbA1c", due_date=date(2026, 5, 1),
                                                            interval_months=3), actor=patient.doctor)
    assert checkups_remind(now=datetime(2026, 4, 30, 23, 0, tzinfo=UTC)) == 0  # 07:00 local: before 09:00
    assert checkups_remind(now=datetime(2026, 5, 1, 1, 0, tzinfo=UTC)) == 1  # 09:00 local
    assert checkups_remind(now=datetime(2026, 5, 1, 2, 0, tzinfo=UTC)) == 0
    plan.refresh_from_db()
    assert plan.next_due_date == date(2026, 8, 1)
    message = OutboundMessage.objects.get(purpose="checkup_reminder")
    assert "HbA1c" in message.rendered and message.idempotency_key == f"checkup:{plan.pk}:2026-05-01"


@pytest.mark.django_db
def test_quiet_hours_are_the_programmes_setting(make_patient, make_plan, recorded_deliveries, programme):
    # A fresh programme is quiet 22:00-07:00; this one chose 12:00-14:00 (local to each patient).
    assert (Programme().quiet_start, Programme().quiet_end) == (time(22), time(7))
    Programme.objects.filter(pk=programme.pk).update(quiet_start=time(12), quiet_end=time(14))
    patient = make_patient()
    due = datetime(2026, 5, 1, 4, 0, tzinfo=UTC)  # 12:00 local
    dose_at(patient, make_plan(patient, times=["12:00"]), due)
    doses_dispatch(now=due)
    assert doses_follow_up(now=due + timedelta(minutes=30)) == 0  # 12:30: quiet for this programme
    Programme.objects.filter(pk=programme.pk).update(quiet_start=None, quiet_end=None)
    assert doses_follow_up(now=due + timedelta(minutes=31)) == 1  # no quiet hours any more


@pytest.mark.django_db
def test_quiet_hours_have_both_ends_or_none(programme):
    programme.quiet_start, programme.quiet_end = time(22), None
    with pytest.raises(ValidationError):
        programme.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        programme.save()


@pytest.mark.django_db
def test_batches_claim_every_dose_when_many_share_one_due_time(make_patient, make_plan, recorded_deliveries):
    """Each batch starts past the last one's (due_at, id): doses due at the same moment are ordered by id."""
    patient = make_patient()
    doses = [dose_at(patient, make_plan(patient, times=["08:00"], drug=f"药{i}"), NOW) for i in range(5)]
    result = doses_dispatch(now=NOW + timedelta(seconds=20), batch=2)
    assert result.queued == 5
    assert set(DoseEvent.objects.filter(pk__in=[d.pk for d in doses]).values_list("status", flat=True)) == {S.QUEUED}
