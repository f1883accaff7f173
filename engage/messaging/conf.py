"""Messaging settings with their defaults; every one can be set in Django settings."""

from django.conf import settings

DEFAULTS = {
    "ENGAGE_PUBLIC_URL": "",  # absolute base URL the providers call back, e.g. https://engage.example.com
    "ENGAGE_TWILIO_API_BASE_URL": "",  # tests point the real twilio client at a fake server
    "ENGAGE_WECHAT_API_BASE_URL": "",  # same for wechatpy (ends with /cgi-bin/)
    "ENGAGE_PROVIDER_TIMEOUT": 10.0,  # seconds; a read timeout means the outcome is unknown
    "ENGAGE_SMS_VALIDITY_SECONDS": 4 * 3600,  # Twilio drops an SMS still queued after this
    "ENGAGE_MESSAGE_MAX_ATTEMPTS": 5,
    # provider calls one delivery task makes at once (SMS in the process's sender event loop on twilio's asynchronous
    # client, WeChat in sender threads; connections kept open). A worker that dies mid-batch leaves at most this
    # many messages `unknown` (started, outcome not recorded; never resent).
    "ENGAGE_MESSAGING_SENDS_IN_FLIGHT": 8,
    "ENGAGE_MESSAGE_RETRY_BASE_SECONDS": 30.0,
    "ENGAGE_MESSAGE_RETRY_MAX_SECONDS": 3600.0,
    "ENGAGE_MESSAGE_SENDING_LEASE_SECONDS": 300,  # a `sending` row older than this is swept
    "ENGAGE_MESSAGE_QUEUED_GRACE_SECONDS": 60,  # a due `queued` row older than this is re-dispatched
    # provider -> (tokens per second, burst); a provider missing here is not limited
    "ENGAGE_MESSAGING_RATE_LIMITS": {"sms": (10.0, 20), "wechat": (50.0, 100)},
    "ENGAGE_WEBHOOK_MAX_BYTES": 64 * 1024,
    "ENGAGE_WEBHOOK_MAX_SKEW_SECONDS": 300,  # a WeChat callback's timestamp is this close to now; nonces kept as long
    "ENGAGE_WECHAT_REQUIRE_SAFE_MODE": False,
    # The one-time subscription message template (一次性订阅消息, from the Official Account console); "" turns them off
    "ENGAGE_WECHAT_ONCE_TEMPLATE_ID": "",  # production: only encrypted (safe mode) WeChat callbacks are accepted
}


def get(name: str):
    return getattr(settings, name, DEFAULTS[name])
