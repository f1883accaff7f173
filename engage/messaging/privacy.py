"""Messages sent to a person over WeChat or SMS: exported; on closing the outbox rows stay as the delivery log
without the number or OpenID, and messages still queued are not sent."""

from django.utils import timezone

from engage.core.personal_data import Closing, ClosingAccount, iso, personal_data
from engage.messaging.models import FrequencyCapUse, OutboundMessage, WeChatSubscribeGrant

ACCOUNT_CLOSED = "account_closed"


def _pseudonymise(account: ClosingAccount) -> None:
    messages = OutboundMessage.objects.filter(user=account.user)
    messages.filter(status=OutboundMessage.Status.QUEUED).update(
        status=OutboundMessage.Status.FAILED, error_code=ACCOUNT_CLOSED, next_attempt_at=None,
        finished_at=timezone.now())
    messages.update(recipient="", fallback_sms_to="", recipient_hash="", recipient_masked="", secret_params="")


@personal_data(section="messages", model="messaging.OutboundMessage", user_fields=("user",), order=71,
               closing=Closing.PSEUDONYMISE, close=_pseudonymise, scrub=("params", "rendered"),
               reason="the delivery log of notices sent (what, when, whether delivered)")
def messages_export(user) -> list[dict]:
    return [
        {"channel": m.channel, "to": m.recipient_masked, "purpose": m.purpose, "template": m.template_key,
         "text": m.rendered, "status": m.status, "created_at": iso(m.created_at), "sent_at": iso(m.sent_at),
         "delivered_at": iso(m.delivered_at)}
        for m in OutboundMessage.objects.filter(user=user).order_by("created_at", "id")
    ]


@personal_data(section="message_frequency", model="messaging.FrequencyCapUse", user_fields=("user",), order=72,
               closing=Closing.DELETE)
def frequency_export(user) -> list[dict]:
    """Which informational/promotional messages counted against the person's frequency cap."""
    return [{"message": use.message_id, "day": use.day.isoformat(), "week": use.week.isoformat()}
            for use in FrequencyCapUse.objects.filter(user=user).order_by("day", "id")]


@personal_data(section="wechat_one_time_notices", model="messaging.WeChatSubscribeGrant", user_fields=("user",),
               order=73, closing=Closing.DELETE)
def subscribe_grants_export(user) -> list[dict]:
    """The one-time WeChat notices the person authorised, and when each was used."""
    return [{"template_id": grant.template_id, "scene": grant.scene, "authorised_at": iso(grant.granted_at),
             "used_at": iso(grant.used_at)}
            for grant in WeChatSubscribeGrant.objects.filter(user=user).order_by("granted_at", "id")]
