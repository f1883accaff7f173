"""The JS-SDK: WeChat's signature, the jsapi_ticket cached in Redis and fetched once across processes, the stable
access token, and GET /api/v1/wechat/js-config."""

import hashlib

import pytest
from django.test import Client

from engage.messaging.wechat import WeChatSender, jsapi_signature, jsapi_ticket, wechat_client
from tests.race import race, raise_first

PAGE = "https://engage.test/content/heart-failure/?s=AbC123"


def test_wechats_published_signature_example():
    """The example in WeChat's JS-SDK documentation (附录1), fragment dropped as WeChat signs it."""
    signature = jsapi_signature(
        ticket="sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg",
        noncestr="Wm3WZYTPz0wzccnW", timestamp=1414587457, url="http://mp.weixin.qq.com?params=value#top")
    assert signature == "0f9de62fce790f9a083d5c99e95740ceb90c27ed"


@pytest.mark.django_db
def test_js_config_signs_the_page_without_its_fragment(fake_wechat):
    response = Client().get("/api/v1/wechat/js-config", {"url": PAGE + "#comments"})
    assert response.status_code == 200
    body = response.json()
    assert body["appId"] == fake_wechat.appid
    expected = hashlib.sha1(  # noqa: S324 — WeChat's JS-SDK signature is SHA1
        f"jsapi_ticket=TICKET-1&noncestr={body['nonceStr']}&timestamp={body['timestamp']}&url={PAGE}".encode()
    ).hexdigest()
    assert body["signature"] == expected
    Client().get("/api/v1/wechat/js-config", {"url": PAGE})
    assert fake_wechat.tickets_issued == 1  # cached in Redis


@pytest.mark.django_db
@pytest.mark.parametrize(("query", "status"), [
    ({}, 422),
    ({"url": ""}, 422),
    ({"url": "https://evil.example/page"}, 400),
    ({"url": "javascript:alert(1)"}, 400),
    ({"url": "https://engage.test/" + "a" * 3000}, 422),
])
def test_js_config_refuses_bad_urls(fake_wechat, query, status):
    response = Client().get("/api/v1/wechat/js-config", query)
    assert response.status_code == status
    assert fake_wechat.tickets_issued == 0


@pytest.mark.django_db
def test_js_config_is_off_without_wechat(settings):
    settings.WECHAT_APP_ID = ""
    response = Client().get("/api/v1/wechat/js-config", {"url": PAGE})
    assert response.status_code == 404 and response.json()["code"] == "wechat_not_configured"


@pytest.mark.django_db(transaction=True)
def test_one_process_fetches_the_ticket_while_the_others_wait(fake_wechat):
    clients = [wechat_client() for _ in range(6)]  # one client each, as in separate processes
    tickets = raise_first(race(6, lambda i: jsapi_ticket(clients[i])))
    assert set(tickets) == {"TICKET-1"} and fake_wechat.tickets_issued == 1


@pytest.mark.django_db(transaction=True)
def test_processes_never_void_each_others_token(fake_wechat):
    """Each process asks for the stable token (none has it cached): all get the same one, none is voided."""
    senders = [WeChatSender() for _ in range(4)]
    for sender in senders:  # as if each process had its own token storage
        sender.client.session.delete(sender.client.access_token_key)
    tokens = [sender.client.fetch_access_token()["access_token"] for sender in senders]
    assert set(tokens) == {"TOKEN-1"} and fake_wechat.tokens_issued == 1
    assert fake_wechat.stable_token_calls >= 1
    assert not [r for r in fake_wechat.requests if r.path.endswith("/cgi-bin/token")]
