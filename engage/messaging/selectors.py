"""Reads of the outbox for other areas' pages (the doctor 360° view)."""

from engage.messaging.models import OutboundMessage


def messages_of(*, user, limit: int = 20) -> list[OutboundMessage]:
    """The latest messages to `user` on every channel — sent, held by the frequency cap, failed — newest first."""
    return list(OutboundMessage.objects.filter(user=user).order_by("-created_at", "-id")[:limit])
