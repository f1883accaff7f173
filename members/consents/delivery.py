"""In-app notifications delivered over WeChat or SMS, with the doctor's marketing consent.

    from members.consents.delivery import notification_deliver
    notification_deliver(notification=notification)   # engage.inbox.models.Notification

WeChat template message when the user consented to `marketing_wechat` and has a WeChat openid (allauth's weixin
social account), with an SMS fallback if they also consented to `marketing_sms`; else SMS with `marketing_sms`
consent and a mobile number; else nothing. Once per notification and channel (idempotency key).
"""

from django.conf import settings

from engage.messaging import conf
from engage.messaging.models import OutboundMessage
from engage.messaging.services import message_enqueue
from engage.messaging.templates import MessageTemplate, register
from members.consents.models import ConsentKind
from members.consents.selectors import consent_active

NOTIFICATION_TEMPLATE = register(MessageTemplate(
    key="notification",
    sms={"zh-hans": "【Engage】{title}：{body} {link}", "en": "[Engage] {title}: {body} {link}"},
    wechat_template_id=getattr(settings, "ENGAGE_WECHAT_NOTIFICATION_TEMPLATE_ID", ""),
    wechat_fields={"thing1": "{short_title}", "thing2": "{short_body}"},
    wechat_url="{link}",
))


def _openid(user) -> str:
    from allauth.socialaccount.models import SocialAccount

    account = SocialAccount.objects.filter(user=user, provider="weixin").order_by("-pk").first()
    return account.uid if account else ""


def notification_deliver(*, notification) -> OutboundMessage | None:
    """Queues the notification over WeChat or SMS as the user consented; returns the message or None (no consent
    or no address). Repeated calls return the same message."""
    user = notification.user
    wechat_ok = consent_active(user, ConsentKind.MARKETING_WECHAT)
    sms_ok = consent_active(user, ConsentKind.MARKETING_SMS) and bool(getattr(user, "mobile", None))
    base = conf.get("ENGAGE_PUBLIC_URL").rstrip("/")
    link = f"{base}{notification.url}" if notification.url.startswith("/") else notification.url
    params = {"title": notification.title, "body": notification.body, "link": link,
              "short_title": notification.title[:20], "short_body": (notification.body or notification.title)[:20]}
    common = {"template_key": "notification", "params": params, "user": user,
              "language": getattr(user, "language", "zh-hans") or "zh-hans", "purpose": "notification"}
    openid = _openid(user) if wechat_ok else ""
    if openid:
        return message_enqueue(channel=OutboundMessage.Channel.WECHAT_TEMPLATE, to=openid,
                               idempotency_key=f"notification:{notification.pk}:wechat",
                               fallback_sms_to=user.mobile if sms_ok else None, **common)
    if sms_ok:
        return message_enqueue(channel=OutboundMessage.Channel.SMS, to=user.mobile,
                               idempotency_key=f"notification:{notification.pk}:sms", **common)
    return None
