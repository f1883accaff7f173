import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import OutboundMessage
from .templates import get_template


def message_enqueue(
    *,
    channel: str,
    to: str,
    template_key: str,
    params: dict,
    language: str = "zh-hans",
    user=None,
    idempotency_key: str | None = None,
) -> OutboundMessage:
    """Records the message in the outbox and schedules its delivery after commit.

    The same idempotency key returns the existing message and schedules nothing: a message is sent once.
    """
    template = get_template(template_key)
    rendered = template.render_sms(params, language)
    key = idempotency_key or f"{template_key}:{uuid.uuid4().hex}"
    try:
        with transaction.atomic():
            message = OutboundMessage.objects.create(
                channel=channel,
                recipient=to,
                user=user,
                template_key=template_key,
                params=params,
                language=language,
                rendered=rendered,
                idempotency_key=key,
            )
    except IntegrityError:
        return OutboundMessage.objects.get(idempotency_key=key)

    from .tasks import message_deliver

    transaction.on_commit(lambda: message_deliver.delay(message.pk))
    return message


def message_deliver_now(*, message_id: int) -> OutboundMessage | None:
    """Claims a queued message and hands it to the provider once. A message already claimed is left alone."""
    from .backends import SendError, sms_backend

    claimed = OutboundMessage.objects.filter(pk=message_id, status=OutboundMessage.Status.QUEUED).update(
        status=OutboundMessage.Status.SENDING, updated_at=timezone.now()
    )
    message = OutboundMessage.objects.filter(pk=message_id).first()
    if not claimed or message is None:
        return message
    message.attempts += 1
    try:
        result = sms_backend().send(message.recipient, message.template_key, message.params, message.language)
    except SendError as exc:
        message.status = OutboundMessage.Status.FAILED
        message.error_code = exc.code
        message.error_message = str(exc)[:2000]
    else:
        message.status = OutboundMessage.Status.SENT
        message.provider_message_id = result.provider_message_id
        message.sent_at = timezone.now()
    message.save(update_fields=["status", "error_code", "error_message", "provider_message_id", "sent_at",
                                "attempts", "updated_at"])
    return message
