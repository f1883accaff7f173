from celery import shared_task

from .services import message_deliver_now


@shared_task(acks_late=True, ignore_result=True)
def message_deliver(message_id: int) -> None:
    message_deliver_now(message_id=message_id)
