"""Celery tasks of hospital imports: thin and idempotent; each calls one service."""

from celery import shared_task

from members.hospitals.services import hospital_import_run as run
from members.hospitals.services import hospital_import_validate as validate


@shared_task(acks_late=True, ignore_result=True)
def hospital_import_validate(import_id: int) -> None:
    """Checks an uploaded hospital file row by row, reporting progress; idempotent."""
    validate(import_id=import_id)


@shared_task(acks_late=True, ignore_result=True)
def hospital_import_run(import_id: int) -> None:
    """Imports a validated hospital file in one transaction; runs once per confirmation."""
    run(import_id=import_id)
