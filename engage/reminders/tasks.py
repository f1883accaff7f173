from celery import shared_task
from django.conf import settings

from engage.reminders.services import dose_reminders_enqueue, reminders_tick


@shared_task(acks_late=True, ignore_result=True, expires=55)
def reminders_tick_task() -> dict:
    """The minute beat (CELERY_BEAT_SCHEDULE["reminders-tick"]). Idempotent; two at once are harmless. Claimed doses
    are fanned out to `dose_reminders_enqueue_task` so every worker process writes reminders."""
    return reminders_tick(fan_out=getattr(settings, "REMINDERS_FAN_OUT", True))


@shared_task(acks_late=True, ignore_result=True)
def dose_reminders_enqueue_task(dose_ids: list[int]) -> int:
    """Writes the reminders of claimed doses to the outbox and sends them from this worker (no second trip through
    the broker); repeated deliveries of the task are harmless."""
    return dose_reminders_enqueue(dose_ids=dose_ids, deliver_here=True)
