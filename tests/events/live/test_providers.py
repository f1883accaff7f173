"""Signed play, push and replay URLs and callback signatures against the providers' published schemes."""

import hashlib
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from events.live import providers

TENCENT_KEY = "e12c46f2612d5106e2034781ab261ca3"


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 (the providers' scheme)


def test_tencent_published_example():
    assert providers.tencent_tx_secret(key=TENCENT_KEY, stream_name="test", tx_time="5C271099") \
        == "f85a2ab363fe4deaffef9754d79da6fe"


def test_tencent_tx_time_is_upper_case_hex_of_the_expiry():
    assert providers.tencent_tx_time(0x5C271099) == "5C271099"


def test_tencent_signed_url_carries_secret_and_time():
    url = providers.tencent_signed_url(scheme="https", domain="play.example.com", app="live", stream_name="test",
                                       suffix=".m3u8", key=TENCENT_KEY, expires_at=0x5C271099)
    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("play.example.com", "/live/test.m3u8")
    assert parse_qs(parts.query) == {"txSecret": ["f85a2ab363fe4deaffef9754d79da6fe"], "txTime": ["5C271099"]}


def test_aliyun_type_a_auth_key():
    auth = providers.aliyun_auth_key(uri="/live/stream.m3u8", key="aliyunkey", timestamp=1700000000, rand="0",
                                     uid="0")
    assert auth == f"1700000000-0-0-{md5('/live/stream.m3u8-1700000000-0-0-aliyunkey')}"


def test_aliyun_signed_url_uses_the_path_as_uri():
    url = providers.aliyun_signed_url(scheme="https", domain="cdn.example.com", app="live", stream_name="s1",
                                      suffix=".m3u8", key="k", timestamp=1700000000, rand="abc")
    query = parse_qs(urlsplit(url).query)
    assert query["auth_key"] == [f"1700000000-abc-0-{md5('/live/s1.m3u8-1700000000-abc-0-k')}"]


def test_tencent_callback_sign():
    assert providers.tencent_callback_sign(key="cbkey", t="1700000000") == md5("cbkey1700000000")


def test_tencent_vod_key_scheme():
    url = providers.tencent_vod_signed_url(url="https://vod.example.com/dir1/dir2/replay.mp4", key="vodkey",
                                           expires_at=0x5E7A1F3B, us="72d4cd1101")
    query = parse_qs(urlsplit(url).query)
    assert query["t"] == ["5e7a1f3b"]
    assert query["sign"] == [md5("vodkey/dir1/dir2/5e7a1f3b72d4cd1101")]


def test_tencent_vod_key_known_vectors_in_the_documented_order():
    """Digests computed outside Python (printf ... | md5sum) over KEY + Dir + t + exper + rlimit + us: with the
    optional exper and rlimit absent, and with exper=300 and rlimit=3 between t and us."""
    url = "http://example.vod2.myqcloud.com/dir1/dir2/myVideo.mp4"
    plain = parse_qs(urlsplit(providers.tencent_vod_signed_url(
        url=url, key="24qQsWsw6cCWEbrMEDaV", expires_at=0x5E7A1F3B, us="72d4cd1101")).query)
    assert plain["sign"] == ["024ce72bdd2c2665b693c02ecf6d9239"] and "exper" not in plain
    limited = urlsplit(providers.tencent_vod_signed_url(url=url, key="24qQsWsw6cCWEbrMEDaV", expires_at=0x5E7A1F3B,
                                                        us="72d4cd1101", exper=300, rlimit=3))
    assert limited.query.startswith("t=5e7a1f3b&exper=300&rlimit=3&us=72d4cd1101&sign=")
    assert parse_qs(limited.query)["sign"] == ["f3cc47cd50e8145dbc2a67ade8d3272c"]


@pytest.mark.django_db
def test_play_url_expires_after_the_ttl_and_verifies(settings):
    from tests.events.live.core_helpers import make_live_session

    settings.ENGAGE_LIVE_TENCENT_PLAY_DOMAIN, settings.ENGAGE_LIVE_TENCENT_PLAY_KEY = "play.example.com", TENCENT_KEY
    settings.ENGAGE_LIVE_PLAY_TTL = 600
    session = make_live_session(provider="tencent", plain_url="")
    now = timezone.now().replace(microsecond=0)
    signed = providers.play_url(session, now=now)
    assert signed.expires_at == now + timedelta(seconds=600)
    query = parse_qs(urlsplit(signed.url).query)
    tx_time = format(int(signed.expires_at.timestamp()), "X")
    assert query["txTime"] == [tx_time]
    assert query["txSecret"] == [md5(TENCENT_KEY + session.stream_name + tx_time)]


@pytest.mark.django_db
def test_push_url_lives_at_least_24_hours_after_the_scheduled_end(settings):
    from tests.events.live.core_helpers import make_live_session

    settings.ENGAGE_LIVE_ALIYUN_PUSH_DOMAIN, settings.ENGAGE_LIVE_ALIYUN_PUSH_KEY = "push.example.com", "pk"
    session = make_live_session(provider="aliyun", plain_url="")
    signed = providers.push_url(session)
    assert signed.url.startswith(f"rtmp://push.example.com/live/{session.stream_name}?auth_key=")
    assert signed.expires_at >= session.event.ends_at + timedelta(hours=24)
    timestamp = parse_qs(urlsplit(signed.url).query)["auth_key"][0].split("-")[0]
    assert int(timestamp) == int(signed.expires_at.timestamp())


@pytest.mark.django_db
def test_plain_provider_is_unsigned():
    from tests.events.live.core_helpers import make_live_session

    session = make_live_session(plain_url="/static/live/demo/index.m3u8")
    signed = providers.play_url(session)
    assert (signed.url, signed.expires_at) == ("/static/live/demo/index.m3u8", None)


def test_tencent_callback_verification(settings):
    settings.ENGAGE_LIVE_TENCENT_CALLBACK_KEY = "cbkey"
    now = 1_700_000_000
    good = {"t": now + 60, "sign": md5(f"cbkey{now + 60}")}
    assert providers.tencent_callback_valid(payload=good, now=now)
    assert not providers.tencent_callback_valid(payload={**good, "sign": md5("wrong")}, now=now)
    assert not providers.tencent_callback_valid(payload={"t": now - 1, "sign": md5(f"cbkey{now - 1}")}, now=now)
    assert not providers.tencent_callback_valid(payload={"t": "abc", "sign": good["sign"]}, now=now)
    assert not providers.tencent_callback_valid(payload={"t": True, "sign": good["sign"]}, now=now)
    assert not providers.tencent_callback_valid(payload={"sign": good["sign"]}, now=now)
    settings.ENGAGE_LIVE_TENCENT_CALLBACK_KEY = ""
    assert not providers.tencent_callback_valid(payload=good, now=now)


def test_aliyun_callback_verification(settings):
    settings.ENGAGE_LIVE_ALIYUN_CALLBACK_KEY = "akey"
    now = 1_700_000_000
    signature = md5(f"live.example.com|{now}|akey")
    assert providers.aliyun_callback_valid(domain="live.example.com", timestamp=str(now), signature=signature,
                                           now=now)
    assert not providers.aliyun_callback_valid(domain="other.example.com", timestamp=str(now),
                                               signature=signature, now=now)
    assert not providers.aliyun_callback_valid(domain="live.example.com", timestamp=str(now),
                                               signature=signature, now=now + 3600)
