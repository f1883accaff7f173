"""Celery tasks of the messaging gateway: thin, idempotent, any number of deliveries per message are harmless."""

from celery import shared_task

from engage.messaging import services


@shared_task(acks_late=True, ignore_result=True)
def message_deliver(message_id: int) -> None:
    services.messages_deliver_now(message_ids=[message_id])


@shared_task(ignore_result=True)
def messages_sweep() -> dict:
    """Every minute (beat): re-dispatch due queued messages, requeue or mark unknown stuck sending ones."""
    return services.message_sweep()


@shared_task(ignore_result=True)
def wechat_event_process(event: dict) -> None:
    """A WeChat callback event too slow to handle within WeChat's 5 s (none today: delivery reports are cheap)."""
    services.message_status_report(**event)


@shared_task(acks_late=True, ignore_result=True)
def messages_deliver(message_ids: list[int]) -> int:
    """A batch of messages (`messages_enqueue_many`); repeated or overlapping deliveries of the task are harmless."""
    return services.messages_deliver_now(message_ids=message_ids)
