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
from functools import cache

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


def async_network_error(exc: Exception) -> SendError:
    """The same for the asynchronous HTTP client (aiohttp)."""
    import aiohttp

    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return SendError("connect_error", str(exc)[:500], kind=SendError.TRANSIENT)
    return SendError("timeout" if isinstance(exc, TimeoutError) else "connection_lost",
                     f"{type(exc).__name__}: {exc}"[:500], kind=SendError.UNKNOWN)


class OutboxSmsBackend:
    """Development: the message stays in the outbox table and is printed to the console."""

    provider = "outbox"
    # A message someone waits for is not sent by the caller here: it stays queued in the outbox, where the
    # developer (and the browser tests) read the one-time code (`send_now` takes the queued way).
    sends_at_once = False

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
        self._async: tuple | None = None  # (event loop, twilio client): an aiohttp session belongs to one loop

    @staticmethod
    def status_callback_url(query: str = "") -> str | None:
        base = conf.get("ENGAGE_PUBLIC_URL")
        if not base:
            return None
        return f"{base.rstrip('/')}/webhooks/twilio/status/" + (f"?{query}" if query else "")

    def _create_args(self, to: str, template_key: str, params: dict, language: str, callback_query: str) -> dict:
        from twilio.base import values

        return {
            "to": to, "body": get_template(template_key).render_sms(params, language),
            "messaging_service_sid": settings.TWILIO_MESSAGING_SERVICE_SID,
            "status_callback": self.status_callback_url(callback_query) or values.unset,
            "validity_period": int(conf.get("ENGAGE_SMS_VALIDITY_SECONDS")),
        }

    def _provider_error(self, exc) -> SendError:
        code = exc.code or exc.status
        if exc.status == 429 or exc.status >= 500 or exc.code in self.TRANSIENT_ERRORS:
            kind = SendError.TRANSIENT
        else:
            kind = SendError.PERMANENT
        return SendError(str(code), str(exc.msg)[:500], kind=kind)

    def send(self, to: str, template_key: str, params: dict, language: str = "zh-hans", *,
             idempotency_key: str = "", callback_query: str = "", **kwargs) -> SendResult:
        from twilio.base.exceptions import TwilioRestException

        try:
            message = self.client.messages.create(**self._create_args(to, template_key, params, language,
                                                                      callback_query))
        except TwilioRestException as exc:
            raise self._provider_error(exc) from exc
        except requests.RequestException as exc:
            raise network_error(exc) from exc
        return SendResult(provider_message_id=message.sid)

    def _async_client(self):
        """The twilio client on the asynchronous HTTP client for the running event loop, made on first use there."""
        import asyncio

        import aiohttp
        from twilio.rest import Client

        loop = asyncio.get_running_loop()
        if self._async is None or self._async[0] is not loop:
            http_client = _async_http_client_class()(pool_connections=False,
                                                     timeout=float(conf.get("ENGAGE_PROVIDER_TIMEOUT")))
            # The same proxy as the synchronous client (read from the environment only when there is one).
            http_client.session = aiohttp.ClientSession(trust_env=bool(self.client.http_client.proxy))
            _open_async_clients.add(http_client)
            client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client)
            client.api.base_url = self.client.api.base_url
            self._async = (loop, client)
        return self._async[1]

    def close(self) -> None:
        """Closes the HTTP connections (the asynchronous client's in its event loop)."""
        import asyncio

        self.client.http_client.session.close()
        if self._async is not None:
            loop, client = self._async
            _open_async_clients.discard(client.http_client)
            if loop.is_running():  # the sender loop's thread: closed there, not waited for
                asyncio.run_coroutine_threadsafe(client.http_client.close(), loop)
            elif not loop.is_closed():
                loop.run_until_complete(client.http_client.close())
        self._async = None

    async def send_async(self, to: str, template_key: str, params: dict, language: str = "zh-hans", *,
                         idempotency_key: str = "", callback_query: str = "", **kwargs) -> SendResult:
        """`send` on twilio's asynchronous HTTP client (aiohttp): many sends in flight in one thread, each far
        cheaper than a thread's `send`. Call it from an event loop (the sender's, `services._sender_loop`)."""
        import aiohttp
        from twilio.base.exceptions import TwilioRestException

        try:
            message = await self._async_client().messages.create_async(
                **self._create_args(to, template_key, params, language, callback_query))
        except TwilioRestException as exc:
            raise self._provider_error(exc) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise async_network_error(exc) from exc
        return SendResult(provider_message_id=message.sid)


_open_async_clients: set = set()  # the asynchronous HTTP clients not yet closed (all in the sender loop)


async def async_clients_close() -> None:
    """Closes every asynchronous HTTP client still open (at the sender loop's end)."""
    while _open_async_clients:
        await _open_async_clients.pop().close()


@cache
def _async_http_client_class():
    """twilio's asynchronous HTTP client with two things put right: the provider timeout applies (the library passes
    `timeout=None` per request, which aiohttp reads as no timeout at all: a provider that never answers held the
    call for ever), and the credentials go in the Authorization header (aiohttp deprecates its `auth` argument)."""
    from aiohttp import encode_basic_auth
    from twilio.http.async_http_client import AsyncTwilioHttpClient

    class ProviderHttpClient(AsyncTwilioHttpClient):
        async def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None,
                          allow_redirects=False):
            if auth is not None:
                headers = {**(headers or {}), "Authorization": encode_basic_auth(*auth)}
            return await super().request(method, url, params, data, headers, None,
                                         self.timeout if timeout is None else timeout, allow_redirects)

    return ProviderHttpClient


_local = threading.local()


def sms_backend():
    """The configured backend, reused per thread while its settings stay the same (keeps HTTP connections open)."""
    key = (settings.ENGAGE_SMS_BACKEND, settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN,
           conf.get("ENGAGE_TWILIO_API_BASE_URL"), conf.get("ENGAGE_PROVIDER_TIMEOUT"))
    cached = getattr(_local, "sms", None)
    if cached is None or cached[0] != key:
        if cached is not None and hasattr(cached[1], "close"):
            cached[1].close()
        cached = (key, import_string(settings.ENGAGE_SMS_BACKEND)())
        _local.sms = cached
    return cached[1]
