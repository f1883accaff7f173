"""Celery tasks of learning assignments: thin and idempotent; each calls one service."""

from celery import shared_task

from learning.assignments.services import assignments_sync


@shared_task(acks_late=True, ignore_result=True)
def assignments_sync_task() -> dict:
    """Hourly: rounds for reps who joined an audience since, then the week-before and due-day reminders."""
    return assignments_sync()
