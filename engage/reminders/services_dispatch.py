"""The beat tick: materialise dose events, send due reminders exactly once, follow up, escalate, mark missed.

Exactly once rests on PostgreSQL, not on the beat. Due rows are claimed with `SELECT … FOR UPDATE SKIP LOCKED`
and marked `queued` in a short transaction per batch, so two ticks at once take disjoint rows and a repeated
task finds nothing left to claim. After that commit the claimed doses' reminders are written to the outbox
(`messages_enqueue_many`: one INSERT per chunk, idempotency key `dose:<id>`) in the transaction that links them
to their doses — in the tick's process, or fanned out to all workers as tasks of 100 doses that then send their
own reminders (`messages_deliver_now`). The same key can never make a second outbox row, a dose already linked
is skipped, and a dose claimed by a worker that died before writing its reminder is enqueued again by a later
tick (`doses_recover`). The gateway delivers each outbox row at most once.

Time zones: a plan's times are local wall-clock times in the patient's IANA zone. A local time that does not
exist (a spring-forward gap, e.g. 02:30 in New York on the second Sunday of March) is due at the first valid
instant after the gap (03:00 local); a local time that happens twice (fall-back) is due once, at its first
occurrence (fold=0). The dose keeps its planned local time, so the message still says "your 02:30 dose".
"""

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .models import Caregiver, DoseEvent, FollowUpPlan, MedicationPlan, Patient, PatientConsent
from .services import CONFIRM_WINDOW

logger = logging.getLogger("engage.reminders")

HORIZON = timedelta(hours=48)
REMATERIALISE_BEFORE = timedelta(hours=1)  # a plan is revisited when its horizon is less than 47 h away
GRACE = timedelta(minutes=15)  # a reminder later than this is stale: the dose expires instead
FOLLOW_UP_AFTER = timedelta(minutes=30)
ESCALATE_AFTER = timedelta(minutes=60)
BATCH = 500
PURPOSE_DOSE = "dose_reminder"
PURPOSE_FOLLOW_UP = "dose_follow_up"
PURPOSE_ESCALATION = "dose_escalation"
PURPOSE_CHECKUP = "checkup_reminder"


def _setting(name: str, default):
    return getattr(settings, name, default)


def local_due_at(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of local wall time `day at` in `tz` (gap: first valid instant after it; repeat: first)."""
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return first
    # In a gap: fold=0 reads the time with the offset before the transition, fold=1 with the one after; the
    # transition lies between the two readings. Bisect to the second.
    other = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    lo, hi = min(first, other), max(first, other)
    after_offset = naive.replace(tzinfo=tz, fold=1).utcoffset()
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).utcoffset() == after_offset:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0)


def plan_dose_slots(plan: MedicationPlan, tz: ZoneInfo, start: datetime, end: datetime):
    """(local date, local time, due_at) of the plan's doses with start <= due_at < end."""
    first_day = start.astimezone(tz).date() - timedelta(days=1)
    last_day = end.astimezone(tz).date() + timedelta(days=1)
    times = plan.local_times()
    day = first_day
    while day <= last_day:
        if plan.occurs_on(day):
            for at in times:
                due = local_due_at(day, at, tz)
                if start <= due < end:
                    yield day, at, due
        day += timedelta(days=1)


def doses_materialise(*, now: datetime | None = None, limit: int = 2000) -> int:
    """Creates the dose events of the next 48 hours for plans whose horizon runs short. Safe to run twice at
    once: rows are unique on (plan, local date, local time) and inserted with ON CONFLICT DO NOTHING."""
    now = now or timezone.now()
    end = now + HORIZON
    plans = list(
        MedicationPlan.objects.filter(is_active=True, as_needed=False, patient__opted_out_at__isnull=True,
                                      patient__programme__is_active=True)
        .filter(Q(materialised_until__isnull=True) | Q(materialised_until__lt=end - REMATERIALISE_BEFORE))
        .select_related("patient").order_by("materialised_until", "id")[:limit]
    )
    created = 0
    for plan in plans:
        start = max(plan.materialised_until or now, now - GRACE)
        rows = [
            DoseEvent(plan=plan, patient_id=plan.patient_id, local_date=day, local_time=at, due_at=due)
            for day, at, due in plan_dose_slots(plan, plan.patient.tz, start, end)
        ]
        with transaction.atomic():
            DoseEvent.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
            MedicationPlan.objects.filter(pk=plan.pk).update(materialised_until=end)
        created += len(rows)
    return created


# --- Reaching a person ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    channel: str  # the gateway's channel
    to: str
    fallback_sms_to: str | None
    language: str


def active_consents(patient_ids) -> dict[int, set[str]]:
    kinds: dict[int, set[str]] = {}
    for pid, kind in PatientConsent.objects.filter(
        patient_id__in=list(patient_ids), caregiver__isnull=True, withdrawn_at__isnull=True
    ).values_list("patient_id", "kind"):
        kinds.setdefault(pid, set()).add(kind)
    return kinds


def patient_route(patient: Patient, kinds: set[str]) -> Route | None:
    """Where a patient's reminder goes: their preferred channel they consented to; WeChat with an SMS fallback
    only when they consented to SMS too. None: opted out, consent missing, or no consented channel."""
    if patient.opted_out_at is not None or not {"programme", "health_information"} <= kinds:
        return None
    sms = patient.mobile if "sms" in kinds and patient.mobile else ""
    wechat = patient.wechat_openid if "wechat" in kinds and patient.wechat_openid else ""
    if wechat and (patient.preferred_channel == "wechat" or not sms):
        return Route("wechat_template", wechat, sms or None, patient.language)
    if sms:
        return Route("sms", sms, None, patient.language)
    return None


def caregiver_route(caregiver: Caregiver | None) -> Route | None:
    if caregiver is None or caregiver.opted_out_at is not None:
        return None
    kinds = set(caregiver.consents.filter(withdrawn_at__isnull=True).values_list("kind", flat=True))
    if "programme" not in kinds:
        return None
    sms = caregiver.mobile if caregiver.mobile and "sms" in kinds else ""
    if caregiver.wechat_openid and "wechat" in kinds:
        return Route("wechat_template", caregiver.wechat_openid, sms or None, caregiver.language)
    if sms:
        return Route("sms", sms, None, caregiver.language)
    return None


def in_quiet_hours(patient: Patient, now: datetime) -> bool:
    start, end = patient.quiet_start, patient.quiet_end
    if start is None or end is None or start == end:
        return False
    local = now.astimezone(patient.tz).time()
    return start <= local < end if start < end else (local >= start or local < end)


def _enqueue(route: Route, *, template_key: str, params: dict, key: str, purpose: str):
    from engage.messaging.services import message_enqueue

    return message_enqueue(channel=route.channel, to=route.to, template_key=template_key, params=params,
                           language=route.language, idempotency_key=key, fallback_sms_to=route.fallback_sms_to,
                           purpose=purpose)


def dose_params(dose: DoseEvent) -> dict:
    from .selectors import patient_link

    return {"time": f"{dose.local_time:%H:%M}", "drug": dose.plan.drug, "dose": dose.plan.dose_text,
            "url": patient_link(dose.patient)}


# --- Sending ---------------------------------------------------------------------------------------------


@dataclass
class DispatchResult:
    queued: int = 0
    expired: int = 0
    cancelled: int = 0
    recovered: int = 0


FAN_OUT_CHUNK = 100  # doses per `dose_reminders_enqueue_task` when the tick fans out to the workers
RECOVER_AFTER = timedelta(minutes=5)  # a claimed dose still without its outbox row after this is enqueued again


def doses_dispatch(*, now: datetime | None = None, batch: int = BATCH, max_batches: int | None = None,
                   fan_out: bool = False, after_claim=None) -> DispatchResult:
    """Claims due `scheduled` doses batch by batch (`FOR UPDATE SKIP LOCKED`, committed per batch): stale ones
    expire, those of opted-out or non-consenting patients are cancelled, the rest become `queued`. After each
    commit their reminders are written to the outbox — here, or with `fan_out` by Celery tasks of
    FAN_OUT_CHUNK doses spread over the workers. Claimed doses whose reminder was never written (a worker died in
    between) are enqueued again after RECOVER_AFTER. `after_claim` is a test hook called with the claimed ids
    inside the claiming transaction."""
    now = now or timezone.now()
    grace = _setting("REMINDERS_GRACE", GRACE)
    result = DispatchResult()
    batches = 0
    while max_batches is None or batches < max_batches:
        batches += 1
        queued_ids: list[int] = []
        with transaction.atomic():
            doses = list(
                DoseEvent.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=DoseEvent.Status.SCHEDULED, due_at__lte=now)
                .select_related("patient", "plan").order_by("due_at", "id")[:batch]
            )
            if not doses:
                break
            if after_claim is not None:
                after_claim([d.pk for d in doses])
            kinds = active_consents({d.patient_id for d in doses})
            ended: dict[tuple[str, str], list[int]] = {}  # (status, reason) -> dose ids
            for dose in doses:
                if now - dose.due_at > grace:
                    ended.setdefault((DoseEvent.Status.EXPIRED, "late"), []).append(dose.pk)
                    result.expired += 1
                elif patient_route(dose.patient, kinds.get(dose.patient_id, set())) is None or not dose.plan.is_active:
                    reason = "opted_out" if dose.patient.opted_out_at else "no_consented_channel"
                    ended.setdefault((DoseEvent.Status.CANCELLED, reason), []).append(dose.pk)
                    result.cancelled += 1
                else:
                    queued_ids.append(dose.pk)
            changed_at = timezone.now()
            DoseEvent.objects.filter(pk__in=queued_ids).update(status=DoseEvent.Status.QUEUED, queued_at=now,
                                                               updated_at=changed_at)
            for (status, reason), ids in ended.items():
                DoseEvent.objects.filter(pk__in=ids).update(status=status, status_reason=reason, updated_at=changed_at)
            if fan_out:
                transaction.on_commit(lambda ids=queued_ids: _fan_out(ids))
        result.queued += len(queued_ids)
        if not fan_out:
            dose_reminders_enqueue(dose_ids=queued_ids)
        if len(doses) < batch:
            break
    result.recovered = doses_recover(now=now, fan_out=fan_out)
    return result


def _fan_out(dose_ids: list[int]) -> None:
    from .tasks import dose_reminders_enqueue_task

    for i in range(0, len(dose_ids), FAN_OUT_CHUNK):
        try:
            dose_reminders_enqueue_task.delay(dose_ids[i:i + FAN_OUT_CHUNK])
        except Exception:  # broker down: doses_recover picks them up on a later tick
            logger.exception("could not queue reminders of doses %s…", dose_ids[i])


def dose_reminders_enqueue(*, dose_ids: list[int], deliver_here: bool = False) -> int:
    """Writes the reminder of each claimed dose to the outbox once (idempotency key `dose:<id>`) and links it, in
    one transaction for the chunk: one INSERT for all the reminders, one UPDATE linking them. Doses already linked
    (by another copy of this task, which is waited for) or no longer `queued` (confirmed, opted out meanwhile) are
    skipped: running this twice, or at once, is harmless. After the commit the reminders are handed to the
    gateway's delivery tasks, or with `deliver_here` sent from this process (the fan-out task does, saving a
    trip through the broker; the gateway's sweeper sends whatever a dying process left queued)."""
    from engage.messaging.services import MessageSpec, messages_deliver_now, messages_enqueue_many

    now = timezone.now()
    with transaction.atomic():
        # A blocking lock in id order, not SKIP LOCKED: a claiming tick may hold these rows for a moment, and a copy
        # of this task running at once is waited for, after which its linked doses no longer match.
        doses = list(DoseEvent.objects.select_for_update(of=("self",))
                     .filter(pk__in=dose_ids, status=DoseEvent.Status.QUEUED, message__isnull=True)
                     .select_related("patient", "plan").order_by("pk"))
        kinds = active_consents({d.patient_id for d in doses})
        specs, cancelled = {}, []
        for dose in doses:
            route = patient_route(dose.patient, kinds.get(dose.patient_id, set()))
            if route is None:  # opted out or consent withdrawn since the claim
                cancelled.append(dose.pk)
                continue
            specs[dose.pk] = MessageSpec(
                channel=route.channel, to=route.to, template_key="dose_reminder", params=dose_params(dose),
                idempotency_key=f"dose:{dose.pk}", language=route.language, fallback_sms_to=route.fallback_sms_to,
                purpose=PURPOSE_DOSE)
        message_ids = messages_enqueue_many(list(specs.values()), dispatch=not deliver_here)
        linked = [d for d in doses if d.pk in specs]
        for dose in linked:
            dose.message_id, dose.updated_at = message_ids[specs[dose.pk].idempotency_key], now
        DoseEvent.objects.bulk_update(linked, ["message", "updated_at"], batch_size=1000)
        DoseEvent.objects.filter(pk__in=cancelled).update(status=DoseEvent.Status.CANCELLED,
                                                          status_reason="opted_out", updated_at=now)
    if deliver_here and linked:
        messages_deliver_now(message_ids=[d.message_id for d in linked])
    return len(linked)


def doses_recover(*, now: datetime, fan_out: bool = False, limit: int = 5000) -> int:
    """Claimed doses whose outbox row was never written (the process died between claim and enqueue): enqueued
    again, or expired when they are by now more than the grace period late."""
    stuck = DoseEvent.objects.filter(status=DoseEvent.Status.QUEUED, message__isnull=True,
                                     queued_at__lte=now - RECOVER_AFTER)
    stuck.filter(due_at__lt=now - _setting("REMINDERS_GRACE", GRACE)).update(
        status=DoseEvent.Status.EXPIRED, status_reason="late", updated_at=now)
    ids = list(stuck.order_by("due_at").values_list("pk", flat=True)[:limit])
    if ids:
        logger.warning("re-enqueueing %s claimed doses without a reminder", len(ids))
        if fan_out:
            _fan_out(ids)
        else:
            dose_reminders_enqueue(dose_ids=ids)
    return len(ids)


def _open_unconfirmed(*, now: datetime, after: timedelta, field: str, batch: int):
    return list(
        DoseEvent.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status__in=DoseEvent.OPEN, due_at__lte=now - after, due_at__gt=now - CONFIRM_WINDOW,
                patient__opted_out_at__isnull=True, **{f"{field}__isnull": True})
        .select_related("patient", "plan").order_by("due_at", "id")[:batch]
    )


def doses_follow_up(*, now: datetime | None = None, batch: int = BATCH) -> int:
    """One follow-up to the patient 30 minutes after an unconfirmed reminder; held during quiet hours (and
    dropped if the dose's confirmation window has closed by then)."""
    now = now or timezone.now()
    sent = 0
    with transaction.atomic():
        doses = _open_unconfirmed(now=now, after=FOLLOW_UP_AFTER, field="follow_up_sent_at", batch=batch)
        kinds = active_consents({d.patient_id for d in doses})
        for dose in doses:
            route = patient_route(dose.patient, kinds.get(dose.patient_id, set()))
            if route is None or in_quiet_hours(dose.patient, now):
                continue
            _enqueue(route, template_key="dose_follow_up", params=dose_params(dose), key=f"dose:{dose.pk}:follow_up",
                     purpose=PURPOSE_FOLLOW_UP)
            DoseEvent.objects.filter(pk=dose.pk).update(follow_up_sent_at=now, updated_at=now)
            sent += 1
    return sent


def doses_escalate(*, now: datetime | None = None, batch: int = BATCH) -> int:
    """After 60 minutes unconfirmed, one message to the caregiver if they consented; held during quiet hours."""
    now = now or timezone.now()
    sent = 0
    with transaction.atomic():
        doses = _open_unconfirmed(now=now, after=ESCALATE_AFTER, field="escalated_at", batch=batch)
        for dose in doses:
            if in_quiet_hours(dose.patient, now):
                continue
            caregiver = Caregiver.objects.filter(patient_id=dose.patient_id).first()
            route = caregiver_route(caregiver)
            if route is None:
                continue
            params = {"time": f"{dose.local_time:%H:%M}", "drug": dose.plan.drug}
            _enqueue(route, template_key="dose_escalation", params=params, key=f"dose:{dose.pk}:escalation",
                     purpose=PURPOSE_ESCALATION)
            DoseEvent.objects.filter(pk=dose.pk).update(escalated_at=now, updated_at=now)
            sent += 1
    return sent


def doses_mark_missed(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    return DoseEvent.objects.filter(status__in=DoseEvent.OPEN, due_at__lte=now - CONFIRM_WINDOW).update(
        status=DoseEvent.Status.MISSED, updated_at=now)


def checkups_remind(*, now: datetime | None = None, batch: int = BATCH) -> int:
    """Check-up reminders on their due date at the plan's local time; repeating plans move to the next date."""
    now = now or timezone.now()
    sent = 0
    with transaction.atomic():
        plans = list(
            FollowUpPlan.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(is_active=True, next_due_date__lte=(now + timedelta(days=1)).date(),
                    patient__opted_out_at__isnull=True)
            .select_related("patient")[:batch]
        )
        kinds = active_consents({p.patient_id for p in plans})
        for plan in plans:
            local = now.astimezone(plan.patient.tz)
            due = plan.next_due_date
            if local.date() < due or (local.date() == due and local.time() < plan.remind_at):
                continue
            route = patient_route(plan.patient, kinds.get(plan.patient_id, set()))
            if route is not None and local.date() == due and plan.last_reminded_for != due:
                _enqueue(route, template_key="checkup_reminder", params={"title": plan.title, "date": str(due)},
                         key=f"checkup:{plan.pk}:{due}", purpose=PURPOSE_CHECKUP)
                sent += 1
            plan.last_reminded_for = due
            if plan.interval_months:
                plan.next_due_date = _add_months(due, plan.interval_months)
            else:
                plan.is_active = False
            plan.save(update_fields=["last_reminded_for", "next_due_date", "is_active"])
    return sent


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)


def reminders_tick(*, now: datetime | None = None, fan_out: bool = False) -> dict:
    """Everything the minute beat does, in order. Each step is idempotent and safe to run concurrently."""
    now = now or timezone.now()
    counts = {"materialised": doses_materialise(now=now)}
    dispatched = doses_dispatch(now=now, fan_out=fan_out)
    counts.update(queued=dispatched.queued, expired=dispatched.expired, cancelled=dispatched.cancelled,
                  recovered=dispatched.recovered)
    counts["follow_ups"] = doses_follow_up(now=now)
    counts["escalations"] = doses_escalate(now=now)
    counts["missed"] = doses_mark_missed(now=now)
    counts["checkups"] = checkups_remind(now=now)
    if any(counts.values()):
        logger.info("reminders tick: %s", counts)
    return counts
