"""Provider webhooks (mounted under /webhooks/): Twilio status callbacks and inbound SMS, the WeChat Official Account
callback. They check the provider's signature (403 when missing or forged), refuse malformed or oversized input
(400, nothing written), call one service and answer in the provider's format. CSRF does not apply: the signature
authenticates the caller.
"""

import logging
import time
from datetime import UTC, datetime

from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from engage.messaging import conf
from engage.messaging.inbound import classify_text
from engage.messaging.models import InboundMessage, OutboundMessage, WeChatSubscribeChoice
from engage.messaging.services import inbound_receive, message_status_report, subscribe_choices_record

logger = logging.getLogger("engage.messaging")

TWILIO_STATUS = {
    "sent": OutboundMessage.Status.SENT,
    "delivered": OutboundMessage.Status.DELIVERED,
    "read": OutboundMessage.Status.DELIVERED,
    "undelivered": OutboundMessage.Status.UNDELIVERED,
    "failed": OutboundMessage.Status.FAILED,
    "canceled": OutboundMessage.Status.FAILED,
}
WECHAT_JOB_STATUS = {
    "success": (OutboundMessage.Status.DELIVERED, ""),
    "failed:user block": (OutboundMessage.Status.UNDELIVERED, "user_block"),
    "failed: system failed": (OutboundMessage.Status.UNDELIVERED, "system_failed"),
    "failed:system failed": (OutboundMessage.Status.UNDELIVERED, "system_failed"),
}


def _too_big(request) -> bool:
    limit = int(conf.get("ENGAGE_WEBHOOK_MAX_BYTES"))
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    return declared > limit or len(request.body) > limit


def _public_url(request) -> str:
    base = conf.get("ENGAGE_PUBLIC_URL")
    return f"{base.rstrip('/')}{request.get_full_path()}" if base else request.build_absolute_uri()


def _twilio_signed(request) -> bool:
    from django.conf import settings
    from twilio.request_validator import RequestValidator

    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not settings.TWILIO_AUTH_TOKEN:
        return False
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(_public_url(request), request.POST, signature)


def _twilio_guard(request) -> HttpResponse | None:
    if _too_big(request):
        return HttpResponseBadRequest("too large")
    try:
        request.POST  # noqa: B018  (parse now: a malformed body is a 400, not a 500)
    except Exception:
        return HttpResponseBadRequest("malformed")
    if not _twilio_signed(request):
        return HttpResponseForbidden("bad signature")
    return None


@csrf_exempt
@require_POST
def twilio_status(request):
    """Twilio's status callback: applied as a one-way state machine; unknown message ids and repeats are harmless."""
    if refused := _twilio_guard(request):
        return refused
    sid = request.POST.get("MessageSid") or request.POST.get("SmsSid") or ""
    raw_status = (request.POST.get("MessageStatus") or request.POST.get("SmsStatus") or "").lower()
    if not sid or not raw_status or len(sid) > 64:
        return HttpResponseBadRequest("MessageSid and MessageStatus are required")
    status = TWILIO_STATUS.get(raw_status)
    if status is None:  # queued, accepted, sending, scheduled: nothing to record
        return HttpResponse(status=204)
    try:
        message_id = int(request.GET.get("m", ""))
    except ValueError:
        message_id = None
    message_status_report(channel=OutboundMessage.Channel.SMS, status=status, provider_message_id=sid,
                          message_id=message_id, error_code=request.POST.get("ErrorCode", "")[:50])
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def twilio_inbound(request):
    """An SMS to our number (and Twilio's Advanced Opt-Out notices): stored once, handed to the inbound handlers,
    answered with TwiML."""
    from twilio.twiml.messaging_response import MessagingResponse

    if refused := _twilio_guard(request):
        return refused
    sid = request.POST.get("MessageSid") or request.POST.get("SmsSid") or ""
    sender = (request.POST.get("From") or "").strip()
    if not sid or not sender or len(sid) > 64 or len(sender) > 64:
        return HttpResponseBadRequest("MessageSid and From are required")
    body = request.POST.get("Body", "")
    opt = (request.POST.get("OptOutType") or "").upper()
    kind = {"STOP": "opt_out", "START": "opt_in"}.get(opt) or classify_text(body)
    row, _ = inbound_receive(channel=InboundMessage.Channel.SMS, sender=sender, text=body, kind=kind,
                             provider_id=sid)
    twiml = MessagingResponse()
    if row.reply:
        twiml.message(row.reply)
    return HttpResponse(str(twiml), content_type="text/xml")


# --- WeChat -----------------------------------------------------------------------------------------------------

def _wechat_signed(request) -> bool:
    """WeChat's signature over (token, timestamp, nonce), with the timestamp inside the replay window."""
    from django.conf import settings
    from wechatpy.exceptions import InvalidSignatureException
    from wechatpy.utils import check_signature

    params = [request.GET.get(name, "") for name in ("signature", "timestamp", "nonce")]
    if not all(params) or not settings.WECHAT_TOKEN or len(params[2]) > 64:
        return False
    try:
        check_signature(settings.WECHAT_TOKEN, *params)
        skew = abs(time.time() - int(params[1]))
    except (InvalidSignatureException, ValueError):
        return False
    return skew <= conf.get("ENGAGE_WEBHOOK_MAX_SKEW_SECONDS")


def _wechat_nonce_key(request) -> str:
    return f"engage:wechat:nonce:{request.GET['timestamp']}:{request.GET['nonce']}"


def _wechat_nonce_claim(request) -> bool:
    """Remembers this (timestamp, nonce) until its timestamp leaves the window: False when it was seen already (a
    replay) or cannot be remembered (the cache is down: refused, WeChat retries later)."""
    from django.core.cache import cache

    window = conf.get("ENGAGE_WEBHOOK_MAX_SKEW_SECONDS")
    ttl = max(1, int(int(request.GET["timestamp"]) + window - time.time()) + 1)
    return bool(cache.add(_wechat_nonce_key(request), 1, timeout=ttl))


def _wechat_nonce_release(request) -> None:
    """A request that failed on our side changed nothing: WeChat's retry with the same nonce must get through."""
    from django.core.cache import cache

    cache.delete(_wechat_nonce_key(request))


def _crypto():
    from django.conf import settings
    from wechatpy.crypto import WeChatCrypto

    return WeChatCrypto(settings.WECHAT_TOKEN, settings.WECHAT_ENCODING_AES_KEY, settings.WECHAT_APP_ID)


def _wechat_inbound(message) -> str:
    """Turns a parsed WeChat message into an inbound message or a delivery report; returns the reply text."""
    kind = None
    text = ""
    provider_id = ""
    scene = ""
    received_at = None
    if message.type == "text":
        text = message.content or ""
        kind, provider_id = classify_text(text), f"msg:{message.id}"
    elif message.type == "event" and message.event in ("subscribe", "subscribe_scan", "unsubscribe"):
        kind = "unsubscribe" if message.event == "unsubscribe" else "subscribe"
        scene = getattr(message, "scene_id", "") or ""
        created = message.time.timestamp() if hasattr(message.time, "timestamp") else message.time
        provider_id = f"event:{message.source}:{int(created)}:{message.event}"
        # When the person (un)followed, as WeChat stamped it (never later than now): a late retry of an older event
        # must not overwrite a newer one.
        received_at = min(timezone.now(), datetime.fromtimestamp(int(created), tz=UTC))
    elif message.type == "event" and message.event == "click" and getattr(message, "key", ""):
        # A menu button that sends a keyword: answered like the same word typed.
        text = str(message.key)[:100]
        created = message.time.timestamp() if hasattr(message.time, "timestamp") else message.time
        kind, provider_id = "text", f"event:{message.source}:{int(created)}:click"
    elif message.type == "event" and message.event == "templatesendjobfinish":
        status, code = WECHAT_JOB_STATUS.get((message.status or "").lower(), (None, ""))
        if status is not None and message.id:
            message_status_report(channel=OutboundMessage.Channel.WECHAT_TEMPLATE, status=status,
                                  provider_message_id=str(message.id), error_code=code)
        return ""
    if kind is None:
        return ""
    row, _ = inbound_receive(channel=InboundMessage.Channel.WECHAT, sender=message.source, text=text, kind=kind,
                             provider_id=provider_id[:200], scene=scene[:200], received_at=received_at)
    return row.reply


# The subscription-notice events (订阅通知) wechatpy 1.8 does not parse: the event, its list element, our source.
SUBSCRIBE_EVENTS = {
    "subscribe_msg_popup_event": ("SubscribeMsgPopupEvent", WeChatSubscribeChoice.Source.POPUP),
    "subscribe_msg_change_event": ("SubscribeMsgChangeEvent", WeChatSubscribeChoice.Source.CHANGE),
    "subscribe_msg_sent_event": ("SubscribeMsgSentEvent", None),
}
SUBSCRIBE_EVENT_MAX_ITEMS = 50


def _subscribe_event(body: bytes | str) -> dict | None:
    """The subscription-notice event in a callback body: {"event", "openid", "created", "items": [{TemplateId, …}]},
    None for any other message. Raises ValueError when it is one of them but malformed."""
    from defusedxml import ElementTree

    root = ElementTree.fromstring(body.encode() if isinstance(body, str) else body)
    event = (root.findtext("Event") or "").strip().lower()
    if (root.findtext("MsgType") or "").strip().lower() != "event" or event not in SUBSCRIBE_EVENTS:
        return None
    openid = (root.findtext("FromUserName") or "").strip()
    created = int((root.findtext("CreateTime") or "").strip())
    container = root.find(SUBSCRIBE_EVENTS[event][0])
    items = [{child.tag: (child.text or "").strip() for child in element}
             for element in (container.findall("List") if container is not None else [])]
    if not openid or len(openid) > 64 or not items or len(items) > SUBSCRIBE_EVENT_MAX_ITEMS \
            or not all(item.get("TemplateId") for item in items):
        raise ValueError("incomplete subscription event")
    return {"event": event, "openid": openid, "created": created, "items": items}


def _subscribe_event_apply(event: dict) -> None:
    source = SUBSCRIBE_EVENTS[event["event"]][1]
    if source is None:  # the delivery report of a subscription notice
        for item in event["items"]:
            ok = item.get("ErrorCode", "") == "0" or item.get("ErrorStatus", "").lower() == "success"
            if item.get("MsgID"):
                message_status_report(
                    channel=OutboundMessage.Channel.WECHAT_SUBSCRIBE, provider_message_id=item["MsgID"][:100],
                    status=OutboundMessage.Status.DELIVERED if ok else OutboundMessage.Status.UNDELIVERED,
                    error_code="" if ok else (item.get("ErrorCode") or "failed")[:50])
        return
    at = min(timezone.now(), datetime.fromtimestamp(event["created"], tz=UTC))
    subscribe_choices_record(openid=event["openid"], source=source, occurred_at=at, items=[
        {"template_id": item["TemplateId"], "status": item.get("SubscribeStatusString", "").lower(),
         "popup_scene": item.get("PopupScene", "")} for item in event["items"]])


@csrf_exempt
@require_http_methods(["GET", "POST"])
def wechat_callback(request):
    """WeChat's server URL: GET verifies it (echostr), POST delivers messages and events (plain or AES mode).

    Delivery reports and inbound handlers are quick database writes, so the reply is given within WeChat's 5 s.
    A callback is accepted once: its timestamp must be within ENGAGE_WEBHOOK_MAX_SKEW_SECONDS of now and its nonce
    unseen in that window (a replay is a 403 and changes nothing).
    """
    if not _wechat_signed(request):
        return HttpResponseForbidden("bad signature")
    if request.method == "POST" and conf.get("ENGAGE_WECHAT_REQUIRE_SAFE_MODE") \
            and request.GET.get("encrypt_type") != "aes":
        return HttpResponseForbidden("safe mode required")  # plain mode's signature does not cover the body
    if not _wechat_nonce_claim(request):
        return HttpResponseForbidden("replayed")
    try:
        return _wechat_handle(request)
    except BaseException:
        _wechat_nonce_release(request)
        raise


def _wechat_handle(request):
    from wechatpy import parse_message
    from wechatpy.exceptions import InvalidSignatureException
    from wechatpy.replies import TextReply

    if request.method == "GET":
        return HttpResponse(request.GET.get("echostr", ""), content_type="text/plain")
    if _too_big(request):
        return HttpResponseBadRequest("too large")
    body = request.body
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        return HttpResponseBadRequest("malformed")
    encrypted = request.GET.get("encrypt_type") == "aes"
    timestamp, nonce = request.GET.get("timestamp"), request.GET.get("nonce")
    try:
        if encrypted:
            msg_signature = request.GET.get("msg_signature", "")
            if not msg_signature:
                return HttpResponseForbidden("bad signature")
            body = _crypto().decrypt_message(body, msg_signature, timestamp, nonce)
        subscribe_event = _subscribe_event(body)
        message = parse_message(body) if subscribe_event is None else None
        if subscribe_event is None and (message is None or not getattr(message, "source", None)):
            raise ValueError("no message")
    except InvalidSignatureException:
        return HttpResponseForbidden("bad signature")
    except Exception:  # malformed XML, a missing field, a damaged cipher text
        logger.info("malformed WeChat callback", exc_info=True)
        return HttpResponseBadRequest("malformed")
    if subscribe_event is not None:
        _subscribe_event_apply(subscribe_event)
        return HttpResponse("success", content_type="text/plain")
    reply = _wechat_inbound(message)
    if not reply:
        return HttpResponse("success", content_type="text/plain")
    xml = TextReply(message=message, content=reply).render()
    if encrypted:
        xml = _crypto().encrypt_message(xml, nonce, timestamp)
    return HttpResponse(xml, content_type="application/xml")

