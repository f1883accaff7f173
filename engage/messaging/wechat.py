"""WeChat Official Account sending through wechatpy's `WeChatClient`.

The access token lives in Redis (`RedisStorage`) so every web and worker process shares one token (WeChat
invalidates older tokens when a new one is fetched); without REDIS_URL it is kept in memory. Template messages pass
`client_msg_id` (our idempotency key) so WeChat itself drops a repeated send.
"""

import hashlib
import logging
import threading

import requests
from django.conf import settings
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.session.redisstorage import RedisStorage

from engage.messaging import conf
from engage.messaging.backends import SendError, SendResult, network_error
from engage.messaging.ratelimit import redis_client
from engage.messaging.templates import get_template

# The user cannot be reached over WeChat: fall back to SMS when the caller allowed it.
UNREACHABLE = {40003, 43004, 43019, 43101, 43107}
# Busy, rate-limited or token trouble: try again later.
TRANSIENT = {-1, 40001, 40014, 42001, 45009, 45011, 45047}

logger = logging.getLogger("engage.messaging")
_memory_storage = MemoryStorage()


class _Client(WeChatClient):
    """wechatpy's client with the token URL under API_BASE_URL (the fake server in tests) and a timeout on it."""

    _token_in_use = None  # the token this client last sent; the one to replace when WeChat refuses it

    @property
    def access_token(self):
        self._token_in_use = super().access_token
        return self._token_in_use

    def fetch_access_token(self):
        """One process fetches at a time (a new token voids the old one for everybody): under a Redis lock, a stored
        token other than the one this client has been using (or any, if it has used none) is taken instead of
        fetching again, so a stampede of fresh clients fetches once."""
        redis = redis_client()
        if redis is None:
            return self._fetch_token()
        with redis.lock(f"engage:wechatpy:{self.appid}:fetch", timeout=30, blocking_timeout=30):
            current = self.session.get(self.access_token_key)
            if current and current != self._token_in_use:
                return {"access_token": current}
            return self._fetch_token()

    def _fetch_token(self):
        session_get = self._http.get
        timeout = self.timeout

        def get_with_timeout(*args, **kwargs):
            kwargs.setdefault("timeout", timeout)
            return session_get(*args, **kwargs)

        self._http.get = get_with_timeout
        try:
            return self._fetch_access_token(
                url=f"{self.API_BASE_URL}token",
                params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            )
        finally:
            self._http.get = session_get


def wechat_client() -> WeChatClient:
    redis = redis_client()
    session = RedisStorage(redis, prefix="engage:wechatpy") if redis is not None else _memory_storage
    client = _Client(settings.WECHAT_APP_ID, settings.WECHAT_APP_SECRET, session=session,
                     timeout=conf.get("ENGAGE_PROVIDER_TIMEOUT"))
    if base := conf.get("ENGAGE_WECHAT_API_BASE_URL"):
        client.API_BASE_URL = base if base.endswith("/") else base + "/"
    return client


def client_msg_id(idempotency_key: str) -> str:
    """WeChat accepts at most 64 bytes: long keys are hashed."""
    raw = idempotency_key.encode()
    return idempotency_key if len(raw) <= 64 else hashlib.sha256(raw).hexdigest()


def _error(exc: WeChatClientException) -> SendError:
    code = exc.errcode
    if code is None:  # HTTP error (5xx) from WeChat's front end: the request was not processed
        return SendError(f"http_{getattr(exc.response, 'status_code', '')}", str(exc)[:500], kind=SendError.TRANSIENT)
    code = int(code)
    if code in TRANSIENT:
        return SendError(str(code), str(exc.errmsg)[:500], kind=SendError.TRANSIENT)
    return SendError(str(code), str(exc.errmsg)[:500], kind=SendError.PERMANENT, unreachable=code in UNREACHABLE)


class WeChatSender:
    provider = "wechat"

    def __init__(self):
        self.client = wechat_client()

    def _post(self, endpoint: str, data: dict) -> dict:
        try:
            return self.client.post(endpoint, data=data)
        except WeChatClientException as exc:
            raise _error(exc) from exc
        except requests.RequestException as exc:
            raise network_error(exc) from exc

    def send_template(self, openid: str, template_key: str, params: dict, *, idempotency_key: str) -> SendResult:
        template = get_template(template_key)
        if not template.wechat_template_id:
            raise SendError("no_wechat_template", f"Template {template_key} has no WeChat template id.",
                            unreachable=True)  # an SMS fallback still reaches the person
        data = {
            "touser": openid,
            "template_id": template.wechat_template_id,
            "data": template.render_wechat(params),
            "client_msg_id": client_msg_id(idempotency_key),
        }
        if url := template.render_wechat_url(params):
            data["url"] = url
        result = self._post("message/template/send", data)
        return SendResult(provider_message_id=str(result.get("msgid", "")))

    def send_subscribe(self, openid: str, template_key: str, params: dict, *, idempotency_key: str) -> SendResult:
        """A subscription notice (订阅通知, `message/subscribe/bizsend`): the user must have accepted it."""
        template = get_template(template_key)
        template_id = template.wechat_subscribe_template_id or template.wechat_template_id
        if not template_id:
            raise SendError("no_wechat_template", f"Template {template_key} has no WeChat template id.",
                            unreachable=True)  # an SMS fallback still reaches the person
        data = {"touser": openid, "template_id": template_id, "data": template.render_wechat(params)}
        if url := template.render_wechat_url(params):
            data["page"] = url
        result = self._post("message/subscribe/bizsend", data)
        return SendResult(provider_message_id=str(result.get("msgid", "")))


class OutboxWeChatSender:
    """Development without WECHAT_APP_ID: the message stays in the outbox and is logged."""

    provider = "wechat"

    def send_template(self, openid: str, template_key: str, params: dict, *, idempotency_key: str) -> SendResult:
        template = get_template(template_key)
        data = template.render_wechat(params if settings.DEBUG else template.masked(params))
        logger.info("WeChat template to %s: %s %s", openid, template_key, data)
        return SendResult(provider_message_id="")

    send_subscribe = send_template


_local = threading.local()


def wechat_sender():
    """The sender for the configured account, reused per thread while the settings stay the same."""
    if not settings.WECHAT_APP_ID:
        return OutboxWeChatSender()
    key = (settings.WECHAT_APP_ID, settings.WECHAT_APP_SECRET, conf.get("ENGAGE_WECHAT_API_BASE_URL"),
           conf.get("ENGAGE_PROVIDER_TIMEOUT"), getattr(settings, "REDIS_URL", ""))
    cached = getattr(_local, "sender", None)
    if cached is None or cached[0] != key:
        cached = (key, WeChatSender())
        _local.sender = cached
    return cached[1]
