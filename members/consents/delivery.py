"""What a doctor is told (meeting confirmations and reminders, verification results, redemptions): always in the
portal's inbox, and over WeChat or SMS only with the doctor's consent to that channel.

    from members.consents.delivery import doctor_notify
    doctor_notify(user=doctor, kind="events.registration", title=..., body=..., url=..., key="registration:7:confirmed")

`doctor_notify` stores the inbox notification once per `key` and, after commit, queues `notification_deliver`
(members.consents.tasks): for meeting confirmations and reminders, verification results and rewards a one-time
subscription message when the doctor authorised one (ENGAGE_WECHAT_ONCE_TEMPLATE_ID; the authorisation is
their consent to that one message); else a WeChat template message when the user consented to `marketing_wechat`
and has a WeChat openid (allauth's weixin social account), with an SMS fallback if they also consented to
`marketing_sms`; else SMS with `marketing_sms` consent and a mobile number; else nothing. Once per notification
(idempotency key).
"""

from django.conf import settings
from django.db import transaction

from engage.core.errors import DomainError
from engage.core.jobs import enqueue_on_commit
from engage.inbox.models import Notification
from engage.inbox.services import notification_send
from engage.messaging import conf
from engage.messaging.models import OutboundMessage
from engage.messaging.selectors import subscribe_grant_openid
from engage.messaging.services import message_enqueue
from engage.messaging.templates import MessageTemplate, register
from members.consents.models import ConsentKind
from members.consents.selectors import consent_active
from members.wechat.selectors import wechat_binding

NOTIFICATION_TEMPLATE = register(MessageTemplate(
    key="notification",
    sms={"zh-hans": "【Engage】{title}：{body} {link}", "en": "[Engage] {title}: {body} {link}"},
    wechat_template_id=getattr(settings, "ENGAGE_WECHAT_NOTIFICATION_TEMPLATE_ID", ""),
    wechat_fields={"thing1": "{short_title}", "thing2": "{short_body}"},
    wechat_url="{link}",
    wechat_once_title="{short_title}",
    wechat_once_content="{once_body}",
))


def _openid(user) -> str:
    """Where a template message reaches the doctor: the openid of their WeChat log-in (the account's uid may be the
    unionid), and only while they follow the Official Account (WeChat delivers template messages to followers)."""
    binding = wechat_binding(user=user)
    return binding.openid if binding.bound and binding.following is not False else ""


# What each notification is for the frequency cap: these follow the doctor's own action (a registration, a reminder
# they asked for, their verification, their redemption) and are exempt; any other kind counts against the cap.
TRANSACTIONAL_KINDS = {"events.registration", "event_reminder", "verification.decided", "points.redeemed"}


def _category(kind: str) -> str:
    if kind in TRANSACTIONAL_KINDS:
        return OutboundMessage.Category.TRANSACTIONAL
    return OutboundMessage.Category.PROMOTIONAL if kind.startswith("marketing.") \
        else OutboundMessage.Category.INFORMATIONAL


def notification_deliver(*, notification) -> OutboundMessage | None:
    """Queues the notification over WeChat or SMS as the user consented; returns the message or None (no consent
    or no address). Repeated calls return the same message."""
    user = notification.user
    keys = [f"notification:{notification.pk}:{channel}" for channel in ("wechat_once", "wechat", "sms")]
    if existing := OutboundMessage.objects.filter(idempotency_key__in=keys).order_by("pk").first():
        return existing
    wechat_ok = consent_active(user, ConsentKind.MARKETING_WECHAT)
    sms_ok = consent_active(user, ConsentKind.MARKETING_SMS) and bool(getattr(user, "mobile", None))
    base = conf.get("ENGAGE_PUBLIC_URL").rstrip("/")
    link = f"{base}{notification.url}" if notification.url.startswith("/") else notification.url
    params = {"title": notification.title, "body": notification.body, "link": link,
              "short_title": notification.title[:20], "short_body": (notification.body or notification.title)[:20],
              "once_body": (notification.body or notification.title)[:200]}
    common = {"template_key": "notification", "params": params, "user": user,
              "language": getattr(user, "language", "zh-hans") or "zh-hans", "purpose": "notification",
              "category": _category(notification.kind)}
    once_template = conf.get("ENGAGE_WECHAT_ONCE_TEMPLATE_ID")
    once_openid = subscribe_grant_openid(user=user, template_id=once_template) \
        if notification.kind in TRANSACTIONAL_KINDS else ""
    if once_openid:
        try:
            return message_enqueue(channel=OutboundMessage.Channel.WECHAT_ONCE, to=once_openid,
                                   idempotency_key=keys[0], once_template_id=once_template,
                                   fallback_sms_to=user.mobile if sms_ok else None, **common)
        except DomainError as exc:
            if exc.code != "no_subscribe_grant":  # spent meanwhile by another notice: on to the other channels
                raise
    openid = _openid(user) if wechat_ok else ""
    if openid:
        return message_enqueue(channel=OutboundMessage.Channel.WECHAT_TEMPLATE, to=openid,
                               idempotency_key=f"notification:{notification.pk}:wechat",
                               fallback_sms_to=user.mobile if sms_ok else None, **common)
    if sms_ok:
        return message_enqueue(channel=OutboundMessage.Channel.SMS, to=user.mobile,
                               idempotency_key=f"notification:{notification.pk}:sms", **common)
    return None


def notification_deliver_by_id(*, notification_id: int) -> OutboundMessage | None:
    """`notification_deliver` for the notification `notification_id`; None when it no longer exists."""
    notification = Notification.objects.select_related("user").filter(pk=notification_id).first()
    return notification_deliver(notification=notification) if notification is not None else None


@transaction.atomic
def doctor_notify(*, user, kind: str, title: str, body: str = "", url: str = "", key: str) -> tuple[Notification, bool]:
    """Tells `user` about something once per `key`: an inbox notification now, and after commit a task that
    delivers it over the channels the user consented to. Returns (notification, created); a repeated key changes
    and sends nothing. A broker that cannot be reached never fails the caller's write (enqueue_on_commit)."""
    notification, created = notification_send(user=user, kind=kind, title=title, body=body, url=url, key=key)
    if created:
        enqueue_on_commit("members.consents.tasks.notification_deliver_task", notification.pk)
    return notification, created
