"""Reads of the outbox for other areas' pages (the doctor 360° view)."""

from engage.messaging.models import OutboundMessage, WeChatSubscribeChoice, WeChatSubscribeGrant


def messages_of(*, user, limit: int = 20) -> list[OutboundMessage]:
    """The latest messages to `user` on every channel — sent, held by the frequency cap, failed — newest first."""
    return list(OutboundMessage.objects.filter(user=user).order_by("-created_at", "-id")[:limit])


def subscribe_grant_openid(*, user, template_id: str) -> str:
    """The openid of `user`'s oldest unspent one-time authorisation of `template_id`, or "" when there is none."""
    if not template_id or user is None or not user.pk:
        return ""
    grant = (WeChatSubscribeGrant.objects.filter(user=user, template_id=template_id, used_at__isnull=True)
             .order_by("granted_at", "pk").first())
    return grant.openid if grant else ""


def subscribe_choice(*, openid: str, template_id: str) -> str | None:
    """The standing answer ("accept" / "reject") of `openid` about a subscription-notice template: the latest event
    wins; None when WeChat never reported one."""
    row = WeChatSubscribeChoice.objects.filter(openid=openid, template_id=template_id).order_by(
        "-occurred_at", "-id").first()
    return row.status if row else None
