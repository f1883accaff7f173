"""Celery tasks of exams: thin and idempotent; each calls a service."""

from celery import shared_task

from learning.exams.services import attempts_submit_overdue


@shared_task(acks_late=True, ignore_result=True)
def attempts_submit_overdue_task() -> dict:
    """Every minute: submits the attempts still open after their deadline plus grace, with the saved answers."""
    return {"submitted": attempts_submit_overdue()}
