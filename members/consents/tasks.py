"""Celery tasks of consents: thin and idempotent; each calls one service."""

from celery import shared_task

from members.consents.delivery import notification_deliver_by_id


@shared_task(acks_late=True, ignore_result=True)
def notification_deliver_task(notification_id: int) -> None:
    """After an inbox notification was stored (`doctor_notify`): WeChat or SMS as the doctor consented. The
    message's idempotency key makes a repeated task send nothing twice."""
    notification_deliver_by_id(notification_id=notification_id)
