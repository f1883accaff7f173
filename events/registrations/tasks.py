"""Celery tasks of events/: thin and idempotent; each calls one service."""

from celery import shared_task

from events.checkin.services import attendance_credit, attendance_credit_sweep, live_counters_push
from events.registrations.services import registration_notify, registration_reminders_send


@shared_task(acks_late=True, ignore_result=True)
def registration_notify_task(registration_id: int, what: str) -> None:
    """After a registration changed (created, promoted, approved, rejected, cancelled by staff): tells the doctor
    in the platform's inbox. Stored once per registration and change, so a retried task sends nothing twice."""
    registration_notify(registration_id=registration_id, what=what)


@shared_task(acks_late=True, ignore_result=True)
def registration_reminders_task() -> int:
    """Every five minutes: the day-before and hour-before reminders that are due; each is sent once."""
    return registration_reminders_send()


@shared_task(acks_late=True, ignore_result=True)
def attendance_credit_task(registration_id: int) -> None:
    """One registration's attendance credit (as sent per check-in before the sweep; kept for tasks in flight)."""
    attendance_credit(registration_id=registration_id)


@shared_task(acks_late=True, ignore_result=True)
def attendance_credit_sweep_task(event_id: int) -> None:
    """A moment after check-ins at a meeting: the attendance credit of each of them not yet credited."""
    attendance_credit_sweep(event_id=event_id)


@shared_task(acks_late=True, ignore_result=True, expires=540)
def attendance_credit_sweep_all_task() -> None:
    """Beat, every 10 minutes: credits a check-in whose meeting sweep was never sent (a process that died between
    its commit and the send)."""
    attendance_credit_sweep()


@shared_task(acks_late=True, ignore_result=True, expires=60)
def live_counters_push_task(event_id: int) -> None:
    """A moment after a burst of check-ins: the meeting's counters once more, with the arrivals the per-interval
    push in the request left out. Harmless when repeated: it only sends the current figures."""
    live_counters_push(event_id)
