"""Celery tasks of the platform core: thin; each calls one function."""

from celery import shared_task

from engage.core.jobs import deferred_tasks_resend


@shared_task(ignore_result=True)
def deferred_tasks_resend_task() -> dict:
    return deferred_tasks_resend()
