"""Celery tasks of the capability profile."""

from celery import shared_task

from learning.competencies.services import competency_snapshots_take


@shared_task(acks_late=True, ignore_result=True)
def competency_snapshots_task() -> int:
    """Daily: each rep's capability scores as of today, for the history."""
    return competency_snapshots_take()
