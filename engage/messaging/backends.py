"""Channel backends. SMS backends are pluggable (ENGAGE_SMS_BACKEND) with
`send(to, template_key, params, language="zh-hans", *, idempotency_key="", callback_query="") -> SendResult`.

A backend reports failure with `SendError`:
- `SendError.TRANSIENT`: not sent, safe to try again later (5xx, 429, busy, connection refused);
- `SendError.PERMANENT`: will never work (invalid number, unsubscribed, template invalid); `unreachable` marks the
  WeChat errors after which an SMS fallback makes sense (not following, refused, invalid openid);
- `SendError.UNKNOWN`: the request may have reached the provider (read timeout, connection dropped): never resent.
"""

import logging
import threading
from dataclasses import dataclass

import requests
from django.conf import settings
from django.utils.module_loading import import_string

from engage.messaging import conf
from engage.messaging.templates import get_template

logger = logging.getLogger("engage.messaging")


@dataclass
class SendResult:
    provider_message_id: str


class SendError(Exception):
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    UNKNOWN = "unknown"

    def __init__(self, code: str, message: str, *, kind: str = PERMANENT, unreachable: bool = False,
                 permanent: bool | None = None):
        super().__init__(message)
        self.code = str(code)
        if permanent is not None:  # the older signature
            kind = self.PERMANENT if permanent else self.TRANSIENT
        self.kind = kind
        self.unreachable = unreachable

    @property
    def permanent(self) -> bool:
        return self.kind == self.PERMANENT


def network_error(exc: Exception) -> SendError:
    """A connection never made is transient; anything after the request left us may have been delivered."""
    if isinstance(exc, requests.ConnectTimeout) or (
        isinstance(exc, requests.ConnectionError) and "Failed to establish a new connection" in str(exc)
    ):
        return SendError("connect_error", str(exc)[:500], kind=SendError.TRANSIENT)
    return SendError("timeout" if isinstance(exc, requests.Timeout) else "connection_lost", str(exc)[:500],
                     kind=SendError.UNKNOWN)


class OutboxSmsBackend:
    """Development: the message stays in the outbox table and is printed to the console."""

    provider = "outbox"

    def send(self, to: str, template_key: str, params: dict, language: str = "zh-hans", **kwargs) -> SendResult:
        template = get_template(template_key)
        text = template.render_sms(params if settings.DEBUG else template.masked(params), language)
        logger.info("SMS to %s: %s", to, text)  # secrets masked (readable on a developer's DEBUG machine only)
        return SendResult(provider_message_id="")


class TwilioSmsBackend:
    """Twilio's Programmable Messaging through the official client (messaging service, status callback,
    validity period)."""

    provider = "sms"
    PERMANENT_ERRORS = {21211, 21408, 21606, 21610, 21612, 21614, 21617, 30003, 30004, 30005, 30006, 30007}
    TRANSIENT_ERRORS = {20429, 20500, 20503, 30001}

    def __init__(self):
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        http_client = TwilioHttpClient(timeout=conf.get("ENGAGE_PROVIDER_TIMEOUT"))
        self.client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client)
        if base := conf.get("ENGAGE_TWILIO_API_BASE_URL"):
            self.client.api.base_url = base.rstrip("/")
        # HTTP(S)_PROXY / NO_PROXY for the API's address, read once: requests would scan the environment per send.
        http_client.proxy = requests.utils.get_environ_proxies(self.client.api.base_url)
        http_client.session.trust_env = False

    @staticmethod
    def status_callback_url(query: str = "") -> str | None:
        base = conf.get("ENGAGE_PUBLIC_URL")
        if not base:
            return None
        return f"{base.rstrip('/')}/webhooks/twilio/status/" + (f"?{query}" if query else "")

    def send(self, to: str, template_key: str, params: dict, language: str = "zh-hans", *,
             idempotency_key: str = "", callback_query: str = "", **kwargs) -> SendResult:
        from twilio.base import values
        from twilio.base.exceptions import TwilioRestException

        text = get_template(template_key).render_sms(params, language)
        try:
            message = self.client.messages.create(
                to=to, body=text, messaging_service_sid=settings.TWILIO_MESSAGING_SERVICE_SID,
                status_callback=self.status_callback_url(callback_query) or values.unset,
                validity_period=int(conf.get("ENGAGE_SMS_VALIDITY_SECONDS")),
            )
        except TwilioRestException as exc:
            code = exc.code or exc.status
            if exc.status == 429 or exc.status >= 500 or exc.code in self.TRANSIENT_ERRORS:
                kind = SendError.TRANSIENT
            else:
                kind = SendError.PERMANENT
            raise SendError(str(code), str(exc.msg)[:500], kind=kind) from exc
        except requests.RequestException as exc:
            raise network_error(exc) from exc
        return SendResult(provider_message_id=message.sid)


_local = threading.local()


def sms_backend():
    """The configured backend, reused per thread while its settings stay the same (keeps HTTP connections open)."""
    key = (settings.ENGAGE_SMS_BACKEND, settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN,
           conf.get("ENGAGE_TWILIO_API_BASE_URL"), conf.get("ENGAGE_PROVIDER_TIMEOUT"))
    cached = getattr(_local, "sms", None)
    if cached is None or cached[0] != key:
        cached = (key, import_string(settings.ENGAGE_SMS_BACKEND)())
        _local.sms = cached
    return cached[1]
