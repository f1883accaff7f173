"""WeChat Official Account sending through wechatpy's `WeChatClient`.

The access token comes from WeChat's `stable_token` endpoint and lives in Redis (`RedisStorage`), so every web and
worker process shares one token and none voids another's; without REDIS_URL it is kept in memory. The JS-SDK's
jsapi_ticket is cached in Redis the same way, refreshed by one process under a lock (`jsapi_ticket`). Template
messages pass `client_msg_id` (our idempotency key) so WeChat itself drops a repeated send.
"""

import hashlib
import logging
import threading
import time

import requests
from django.conf import settings
from wechatpy import WeChatClient
from wechatpy.client.api import WeChatJSAPI
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
        """WeChat's stable access token (`POST cgi-bin/stable_token`, force_refresh false): every process asking gets
        the same token until it expires, so no process voids another's (cgi-bin/token would)."""
        try:
            res = self._http.post(f"{self.API_BASE_URL}stable_token", timeout=self.timeout, json={
                "grant_type": "client_credential", "appid": self.appid, "secret": self.secret,
                "force_refresh": False})
            res.raise_for_status()
        except requests.HTTPError as exc:
            raise WeChatClientException(errcode=None, errmsg=None, client=self, request=exc.request,
                                        response=exc.response) from exc
        result = res.json()
        if result.get("errcode"):
            raise WeChatClientException(result["errcode"], result.get("errmsg", ""), client=self,
                                        request=res.request, response=res)
        expires_in = int(result.get("expires_in", 7200))
        self.session.set(self.access_token_key, result["access_token"], expires_in)
        self.expires_at = int(time.time()) + expires_in
        return result


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


    def send_once(self, openid: str, template_key: str, params: dict, *, template_id: str, scene: int,
                  language: str = "zh-hans") -> SendResult:
        """A one-time subscription message (`message/template/subscribe`, wechatpy's send_subscribe_template) under
        the `template_id` and `scene` the person authorised."""
        template = get_template(template_key)
        title, data = template.render_wechat_once(params, language)
        url = template.render_wechat_url(params) or None
        try:
            result = self.client.message.send_subscribe_template(openid, template_id, scene, title, data, url=url)
        except WeChatClientException as exc:
            raise _error(exc) from exc
        except requests.RequestException as exc:
            raise network_error(exc) from exc
        return SendResult(provider_message_id=str((result or {}).get("msgid", "")))


class OutboxWeChatSender:
    """Development without WECHAT_APP_ID: the message stays in the outbox and is logged."""

    provider = "wechat"

    def send_template(self, openid: str, template_key: str, params: dict, *, idempotency_key: str) -> SendResult:
        template = get_template(template_key)
        data = template.render_wechat(params if settings.DEBUG else template.masked(params))
        logger.info("WeChat template to %s: %s %s", openid, template_key, data)
        return SendResult(provider_message_id="")

    send_subscribe = send_template

    def send_once(self, openid: str, template_key: str, params: dict, *, template_id: str, scene: int,
                  language: str = "zh-hans") -> SendResult:
        title, _data = get_template(template_key).render_wechat_once(params, language)
        logger.info("WeChat one-time message to %s: %s %s", openid, template_key, title)
        return SendResult(provider_message_id="")


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


TICKET_EARLY_SECONDS = 300  # refresh the ticket this long before WeChat lets it expire


def jsapi_ticket(client: WeChatClient | None = None) -> str:
    """The JS-SDK ticket (valid 7200 s, to be cached globally): from Redis, or fetched by one process at a time
    under a Redis lock while the others wait for it."""
    client = client or wechat_client()
    redis = redis_client()
    if redis is None:
        return client.jsapi.get_jsapi_ticket()
    key = f"engage:wechat:{client.appid}:jsapi_ticket"
    ticket = redis.get(key)
    if ticket:
        return ticket.decode() if isinstance(ticket, bytes) else ticket
    with redis.lock(f"{key}:lock", timeout=30, blocking_timeout=30):
        ticket = redis.get(key)
        if ticket:
            return ticket.decode() if isinstance(ticket, bytes) else ticket
        result = client.jsapi.get_ticket("jsapi")
        ttl = max(60, int(result.get("expires_in", 7200)) - TICKET_EARLY_SECONDS)
        redis.set(key, result["ticket"], ex=ttl)
        return result["ticket"]


def jsapi_signature(*, ticket: str, noncestr: str, timestamp: int, url: str) -> str:
    """WeChat's JS-SDK signature: SHA1 of jsapi_ticket, noncestr, timestamp and url (without its #fragment)."""
    return WeChatJSAPI().get_jsapi_signature(noncestr, ticket, timestamp, url.split("#", 1)[0])
