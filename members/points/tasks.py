"""Celery tasks of the points area: thin and idempotent; each calls one service."""

from celery import shared_task

from members.points.services import points_expire_due


@shared_task(acks_late=True, ignore_result=True)
def points_expire() -> int:
    """Daily (01:00 Shanghai): writes the `expire` transactions that are due; safe to run twice."""
    return points_expire_due()
