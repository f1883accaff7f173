"""Pytest fixtures for the fake providers and signed webhooks (registered in tests/conftest.py).

    def test_x(fake_twilio, fake_wechat, deliver_outbox, db):
        message_enqueue(channel="sms", to="+8613800138000", ...)
        deliver_outbox()                       # runs the sending task for every due queued message
        assert fake_twilio.sent[0]["To"] == "+8613800138000"
        fake_wechat.script(("errcode", 43004))  # the next WeChat send fails: user does not follow

    twilio_post(client, "/webhooks/twilio/inbound/", {...})   # signed as Twilio signs (RequestValidator)
    wechat_post(client, xml, encrypted=False)                  # signed as WeChat signs (sha1 / WeChatCrypto)
"""

import secrets
import time

import pytest

from tests.fakes.twilio import FakeTwilio
from tests.fakes.wechat import FakeWeChat

PUBLIC_URL = "https://engage.test"
WECHAT_TOKEN = "wechat-callback-token"
WECHAT_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeChat issues them
WECHAT_APP_ID = "wx0123456789abcdef"


def _talk_to_fakes(settings) -> None:
    """What every provider fake needs: our public URL for callbacks, a short timeout, no rate limit."""
    settings.ENGAGE_PUBLIC_URL = PUBLIC_URL
    settings.ENGAGE_PROVIDER_TIMEOUT = 1.0
    settings.ENGAGE_MESSAGING_RATE_LIMITS = {}


@pytest.fixture
def fake_twilio(settings):
    fake = FakeTwilio("AC" + "1" * 32, "twilio-auth-token").start()
    settings.TWILIO_ACCOUNT_SID = fake.account_sid
    settings.TWILIO_AUTH_TOKEN = fake.auth_token
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "2" * 32
    settings.ENGAGE_SMS_BACKEND = "engage.messaging.backends.TwilioSmsBackend"
    settings.ENGAGE_TWILIO_API_BASE_URL = fake.url
    _talk_to_fakes(settings)
    yield fake
    fake.stop()


@pytest.fixture
def fake_wechat(settings):
    fake = FakeWeChat(WECHAT_APP_ID, "wechat-app-secret").start()
    settings.WECHAT_APP_ID = fake.appid
    settings.WECHAT_APP_SECRET = fake.secret
    settings.WECHAT_TOKEN = WECHAT_TOKEN
    settings.WECHAT_ENCODING_AES_KEY = ""
    settings.ENGAGE_WECHAT_API_BASE_URL = f"{fake.url}/cgi-bin/"
    _talk_to_fakes(settings)
    yield fake
    fake.stop()


@pytest.fixture
def deliver_outbox():
    """Runs the sending task in this process for every queued message that is due; returns how many ran."""

    def run(*, include_later: bool = False) -> int:
        from django.db.models import Q
        from django.utils import timezone

        from engage.messaging.models import OutboundMessage
        from engage.messaging.services import message_deliver_now

        query = OutboundMessage.objects.filter(status=OutboundMessage.Status.QUEUED)
        if include_later:
            query.update(next_attempt_at=None)
        else:
            query = query.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now()))
        ids = list(query.order_by("pk").values_list("pk", flat=True))
        for pk in ids:
            message_deliver_now(message_id=pk)
        return len(ids)

    return run


def twilio_signature(url: str, params: dict, auth_token: str) -> str:
    from twilio.request_validator import RequestValidator

    return RequestValidator(auth_token).compute_signature(url, params)


@pytest.fixture
def twilio_post(settings):
    """POSTs a form to a Twilio webhook path, signed with TWILIO_AUTH_TOKEN over PUBLIC_URL + path."""

    def post(client, path: str, params: dict, *, signature: str | None = None):
        url = f"{settings.ENGAGE_PUBLIC_URL}{path}"
        sig = signature if signature is not None else twilio_signature(url, params, settings.TWILIO_AUTH_TOKEN)
        return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=sig)

    return post


def wechat_signature(token: str, timestamp: str, nonce: str) -> str:
    """The signature wechatpy's check_signature verifies (its WeChatSigner over token, timestamp and nonce)."""
    from wechatpy.utils import WeChatSigner, check_signature

    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce)
    check_signature(token, signer.signature, timestamp, nonce)  # the helper the callback uses agrees
    return signer.signature


def wechat_query(token: str, *, timestamp: str | None = None, nonce: str | None = None, **extra) -> dict:
    """A callback's query string signed as WeChat signs it, by default with the current time and a fresh nonce."""
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or secrets.token_hex(8)
    return {"signature": wechat_signature(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce, **extra}


@pytest.fixture
def wechat_post(settings):
    """POSTs XML to the WeChat callback signed as WeChat signs it; `encrypted=True` uses safe mode (WeChatCrypto)
    with WECHAT_AES_KEY (set here). `query` replaces the signed query string (a replay sends an earlier one; the last
    one sent is `post.last_query`). Returns the response; `decrypt_reply(response)` reads an encrypted reply."""

    def post(client, xml: str, *, encrypted: bool = False, forge: bool = False, path: str = "/webhooks/wechat/",
             timestamp: str | None = None, query: dict | None = None, body: str | None = None):
        from urllib.parse import urlencode

        if query is None:
            query = wechat_query(settings.WECHAT_TOKEN, timestamp=timestamp, openid="x")
            if forge:
                query["signature"] = "0" * 40
            if encrypted:
                import xmltodict
                from wechatpy.crypto import WeChatCrypto

                settings.WECHAT_ENCODING_AES_KEY = WECHAT_AES_KEY
                crypto = WeChatCrypto(settings.WECHAT_TOKEN, WECHAT_AES_KEY, settings.WECHAT_APP_ID)
                body = crypto.encrypt_message(xml, query["nonce"], query["timestamp"])
                msg_signature = xmltodict.parse(body)["xml"]["MsgSignature"]
                query.update(encrypt_type="aes", msg_signature="0" * 40 if forge else msg_signature)
        post.last_query, post.last_body = query, body if body is not None else xml
        return client.post(f"{path}?{urlencode(query)}", data=post.last_body, content_type="text/xml")

    return post


def decrypt_reply(settings, response) -> str:
    import xmltodict
    from wechatpy.crypto import WeChatCrypto

    body = response.content.decode()
    parsed = xmltodict.parse(body)["xml"]
    crypto = WeChatCrypto(settings.WECHAT_TOKEN, settings.WECHAT_ENCODING_AES_KEY, settings.WECHAT_APP_ID)
    return crypto.decrypt_message(body, parsed["MsgSignature"], parsed["TimeStamp"], parsed["Nonce"])
