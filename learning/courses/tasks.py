"""Celery tasks of courses: thin and idempotent; each calls a service."""

from celery import shared_task

from learning.courses.services import courses_warn_expiring, courses_withdraw_expired


@shared_task(acks_late=True, ignore_result=True)
def courses_expiry_task() -> dict:
    """Daily: unpublishes product courses whose approval expired and warns owners at 30 and 7 days; safe to rerun."""
    return {"withdrawn": courses_withdraw_expired(), "warned": courses_warn_expiring()}
