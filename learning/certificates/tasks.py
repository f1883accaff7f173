"""Celery tasks of certificates: thin and idempotent; each calls one service."""

from celery import shared_task

from learning.certificates.services import certificate_renewals_remind


@shared_task(acks_late=True, ignore_result=True)
def certificate_renewals_task() -> int:
    """Daily: reminders 30 days before a certificate expires, starting the recertification round."""
    return certificate_renewals_remind()
