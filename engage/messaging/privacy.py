"""Messages sent to a person over WeChat or SMS: exported; on closing the outbox rows stay as the delivery log
without the number or OpenID, and messages still queued are not sent."""

from django.utils import timezone

from engage.core.personal_data import Closing, ClosingAccount, iso, personal_data
from engage.messaging.models import FrequencyCapUse, OutboundMessage

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
