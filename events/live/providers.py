"""Stream providers: signed play, push and replay URLs and the verification of stream callbacks, by the providers'
published schemes. Pure functions of their arguments (keys are passed in), plus `play_url` / `push_url` /
`replay_url` that read the keys from settings for a session. Video never passes through Django.

Tencent Cloud live (CSS): txTime = expiry as upper-case hexadecimal Unix seconds,
    txSecret = MD5(key + StreamName + txTime); callbacks carry t (expiry, decimal) and sign = MD5(callback_key + t).
Tencent VOD Key hotlink protection (replays): t = expiry as lower-case hex, exper = preview seconds and rlimit = most
    client IPs (both optional, decimal), us = random link id, sign = MD5(KEY + Dir + t + exper + rlimit + us) where
    Dir is the file's directory path (ending in "/") and a parameter left out of the URL is left out of the string.
Aliyun ApsaraVideo Live, type A: auth_key = {timestamp}-{rand}-{uid}-{MD5("{URI}-{timestamp}-{rand}-{uid}-{key}")};
    callbacks carry ALI-LIVE-TIMESTAMP and ALI-LIVE-SIGNATURE = MD5("{domain}|{timestamp}|{key}").
"""

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode, urlsplit

from django.conf import settings
from django.utils import timezone


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 (the providers' published scheme)


# --- Tencent ---------------------------------------------------------------------------------------------------

def tencent_tx_time(expires_at: int) -> str:
    return format(int(expires_at), "X")


def tencent_tx_secret(*, key: str, stream_name: str, tx_time: str) -> str:
    return _md5(f"{key}{stream_name}{tx_time}")


def tencent_signed_url(*, scheme: str, domain: str, app: str, stream_name: str, suffix: str, key: str,
                       expires_at: int) -> str:
    tx_time = tencent_tx_time(expires_at)
    query = urlencode({"txSecret": tencent_tx_secret(key=key, stream_name=stream_name, tx_time=tx_time),
                       "txTime": tx_time})
    return f"{scheme}://{domain}/{app}/{stream_name}{suffix}?{query}"


def tencent_callback_sign(*, key: str, t: str) -> str:
    return _md5(f"{key}{t}")


def tencent_vod_signed_url(*, url: str, key: str, expires_at: int, us: str | None = None, exper: int | None = None,
                           rlimit: int | None = None) -> str:
    """A replay file URL under VOD Key hotlink protection: sign = MD5(KEY + Dir + t + exper + rlimit + us), in that
    order, the optional exper (preview seconds) and rlimit (most client IPs) only when given."""
    parts = urlsplit(url)
    directory = parts.path.rsplit("/", 1)[0] + "/"
    params = {"t": format(int(expires_at), "x")}
    if exper is not None:
        params["exper"] = str(int(exper))
    if rlimit is not None:
        params["rlimit"] = str(int(rlimit))
    params["us"] = us or secrets.token_hex(5)
    params["sign"] = _md5(key + directory + "".join(params.values()))
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(params)}"


# --- Aliyun ----------------------------------------------------------------------------------------------------

def aliyun_auth_key(*, uri: str, key: str, timestamp: int, rand: str = "0", uid: str = "0") -> str:
    digest = _md5(f"{uri}-{int(timestamp)}-{rand}-{uid}-{key}")
    return f"{int(timestamp)}-{rand}-{uid}-{digest}"


def aliyun_signed_url(*, scheme: str, domain: str, app: str, stream_name: str, suffix: str, key: str,
                      timestamp: int, rand: str | None = None) -> str:
    uri = f"/{app}/{stream_name}{suffix}"
    auth = aliyun_auth_key(uri=uri, key=key, timestamp=timestamp, rand=rand or secrets.token_hex(16))
    return f"{scheme}://{domain}{uri}?auth_key={quote(auth)}"


def aliyun_callback_signature(*, domain: str, timestamp: str, key: str) -> str:
    return _md5(f"{domain}|{timestamp}|{key}")


# --- per session, keys from settings ------------------------------------------------------------------------------

@dataclass(frozen=True)
class SignedUrl:
    url: str
    expires_at: datetime | None

    def as_dict(self) -> dict:
        return {"url": self.url, "expires_at": self.expires_at.isoformat() if self.expires_at else None}


def _epoch(value: datetime) -> int:
    return int(value.timestamp())


def play_url(session, *, now: datetime | None = None) -> SignedUrl:
    """The viewer's HLS play URL for the live stream, valid ENGAGE_LIVE_PLAY_TTL seconds."""
    now = now or timezone.now()
    expires = now + timedelta(seconds=settings.ENGAGE_LIVE_PLAY_TTL)
    if session.provider == "tencent":
        url = tencent_signed_url(scheme="https", domain=settings.ENGAGE_LIVE_TENCENT_PLAY_DOMAIN,
                                 app=session.app_name, stream_name=session.stream_name, suffix=".m3u8",
                                 key=settings.ENGAGE_LIVE_TENCENT_PLAY_KEY, expires_at=_epoch(expires))
        return SignedUrl(url, expires)
    if session.provider == "aliyun":
        url = aliyun_signed_url(scheme="https", domain=settings.ENGAGE_LIVE_ALIYUN_PLAY_DOMAIN,
                                app=session.app_name, stream_name=session.stream_name, suffix=".m3u8",
                                key=settings.ENGAGE_LIVE_ALIYUN_PLAY_KEY, timestamp=_epoch(expires))
        return SignedUrl(url, expires)
    return SignedUrl(session.plain_url, None)


def push_url(session) -> SignedUrl:
    """The RTMP push URL for OBS (staff), valid until ENGAGE_LIVE_PUSH_HOURS_AFTER_END after the scheduled end, so
    a host can resume after a disconnect."""
    expires = session.event.ends_at + timedelta(hours=settings.ENGAGE_LIVE_PUSH_HOURS_AFTER_END)
    if session.provider == "tencent":
        url = tencent_signed_url(scheme="rtmp", domain=settings.ENGAGE_LIVE_TENCENT_PUSH_DOMAIN,
                                 app=session.app_name, stream_name=session.stream_name, suffix="",
                                 key=settings.ENGAGE_LIVE_TENCENT_PUSH_KEY, expires_at=_epoch(expires))
        return SignedUrl(url, expires)
    if session.provider == "aliyun":
        url = aliyun_signed_url(scheme="rtmp", domain=settings.ENGAGE_LIVE_ALIYUN_PUSH_DOMAIN,
                                app=session.app_name, stream_name=session.stream_name, suffix="",
                                key=settings.ENGAGE_LIVE_ALIYUN_PUSH_KEY, timestamp=_epoch(expires))
        return SignedUrl(url, expires)
    return SignedUrl(f"rtmp://127.0.0.1/{session.app_name}/{session.stream_name}", None)


def replay_url(session, *, now: datetime | None = None) -> SignedUrl | None:
    """The signed replay URL (None before the recording is ready)."""
    if not session.replay_url:
        return None
    now = now or timezone.now()
    expires = now + timedelta(seconds=settings.ENGAGE_LIVE_PLAY_TTL)
    if session.provider == "tencent" and settings.ENGAGE_LIVE_TENCENT_VOD_KEY:
        return SignedUrl(tencent_vod_signed_url(url=session.replay_url, key=settings.ENGAGE_LIVE_TENCENT_VOD_KEY,
                                                expires_at=_epoch(expires)), expires)
    if session.provider == "aliyun" and settings.ENGAGE_LIVE_ALIYUN_PLAY_KEY:
        parts = urlsplit(session.replay_url)
        auth = aliyun_auth_key(uri=parts.path, key=settings.ENGAGE_LIVE_ALIYUN_PLAY_KEY, timestamp=_epoch(expires),
                               rand=secrets.token_hex(16))
        return SignedUrl(f"{parts.scheme}://{parts.netloc}{parts.path}?auth_key={quote(auth)}", expires)
    return SignedUrl(session.replay_url, None)


# --- callbacks ----------------------------------------------------------------------------------------------------

def tencent_callback_valid(*, payload: dict, now: float | None = None) -> bool:
    """sign = MD5(callback_key + t), t (decimal Unix seconds) not yet passed. No key configured: refused."""
    key = settings.ENGAGE_LIVE_TENCENT_CALLBACK_KEY
    t, sign = payload.get("t"), payload.get("sign")
    if not key or not isinstance(sign, str) or isinstance(t, bool) or not isinstance(t, (int, str)):
        return False
    t = str(t)
    if not t.isdigit() or len(t) > 12:
        return False
    if int(t) < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(sign.lower(), tencent_callback_sign(key=key, t=t))


ALIYUN_CALLBACK_WINDOW = 600  # seconds a signed Aliyun callback's timestamp may lie in the past


def aliyun_callback_valid(*, domain: str, timestamp: str, signature: str, now: float | None = None) -> bool:
    key = settings.ENGAGE_LIVE_ALIYUN_CALLBACK_KEY
    if not key or not domain or not timestamp or not signature or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    now = now if now is not None else time.time()
    if abs(now - int(timestamp)) > ALIYUN_CALLBACK_WINDOW:
        return False
    return hmac.compare_digest(signature.lower(), aliyun_callback_signature(domain=domain, timestamp=timestamp,
                                                                           key=key))


def expiry_from_epoch(value: int) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)
