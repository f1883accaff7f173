"""POST /live/callbacks/<provider>/: signed as the providers sign them; forged, expired, malformed, oversized and
duplicate callbacks; start and stop move the state, recording-ready stores the replay."""

import hashlib
import json
import time

import pytest
from django.test import Client

from events.live.models import LiveSession, StreamCallback
from tests.events.live.core_helpers import make_live_session

pytestmark = pytest.mark.django_db

KEY = "tencent-callback-key"


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 (the provider's scheme)


@pytest.fixture(autouse=True)
def _keys(settings):
    settings.ENGAGE_LIVE_TENCENT_CALLBACK_KEY = KEY
    settings.ENGAGE_LIVE_ALIYUN_CALLBACK_KEY = "aliyun-key"


def signed(body: dict, *, t: int | None = None, key: str = KEY) -> dict:
    t = t if t is not None else int(time.time()) + 600
    return {**body, "t": t, "sign": md5(f"{key}{t}")}


def post(body, provider: str = "tencent", **headers):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return Client().post(f"/live/callbacks/{provider}/", data, content_type="application/json", **headers)


def test_start_stop_and_recording_move_the_session():
    session = make_live_session()
    start = signed({"event_type": 1, "stream_id": session.stream_name, "sequence": "s-1", "appname": "live"})
    response = post(start)
    assert response.status_code == 200 and response.json()["code"] == 0
    assert LiveSession.objects.get(pk=session.pk).state == "live"
    assert post(signed({"event_type": 0, "stream_id": session.stream_name, "sequence": "s-2"})).status_code == 200
    assert LiveSession.objects.get(pk=session.pk).state == "ended"
    recording = signed({"event_type": 100, "stream_id": session.stream_name, "file_id": "5285890781763144364",
                        "video_url": "https://vod.example.com/a/b/f0.mp4"})
    assert post(recording).json()["result"] == "done"
    session.refresh_from_db()
    assert (session.replay_url, session.replay_file_id) == ("https://vod.example.com/a/b/f0.mp4",
                                                            "5285890781763144364")


def test_retries_are_idempotent():
    session = make_live_session()
    start = signed({"event_type": 1, "stream_id": session.stream_name, "sequence": "s-1"})
    assert post(start).json()["result"] == "done"
    started_at = LiveSession.objects.get(pk=session.pk).started_at
    assert post(start).json()["result"] == "duplicate"
    assert post(start).status_code == 200
    assert StreamCallback.objects.count() == 1
    assert LiveSession.objects.get(pk=session.pk).started_at == started_at


def test_forged_and_expired_callbacks_are_refused():
    session = make_live_session()
    body = {"event_type": 1, "stream_id": session.stream_name, "sequence": "s-1"}
    assert post(signed(body, key="wrong")).status_code == 403
    assert post(signed(body, t=int(time.time()) - 1)).status_code == 403
    assert post({**signed(body), "sign": "0" * 32}).status_code == 403
    assert post(body).status_code == 403  # unsigned
    assert LiveSession.objects.get(pk=session.pk).state == "scheduled"
    assert not StreamCallback.objects.exists()


def test_malformed_and_oversized_callbacks():
    assert post(b"{not json").status_code == 400
    assert post(b"\xff\xfe").status_code == 400
    assert post([1, 2]).status_code == 400
    assert post(signed({"event_type": "one", "stream_id": "x"})).status_code == 400
    assert post(signed({"stream_id": "x", "pad": "x" * 70_000})).status_code == 413
    assert post(signed({"event_type": 1}), provider="youtube").status_code == 404
    assert Client().get("/live/callbacks/tencent/").status_code == 405


def test_unknown_streams_are_acknowledged_and_recorded_once():
    body = signed({"event_type": 1, "stream_id": "nobody", "sequence": "s-9"})
    assert post(body).json()["result"] == "unknown_stream"
    assert post(body).json()["result"] == "duplicate"


def test_aliyun_signed_callbacks():
    session = make_live_session()
    now = str(int(time.time()))
    headers = {"HTTP_ALI_LIVE_TIMESTAMP": now, "HTTP_ALI_LIVE_SIGNATURE": md5(f"testserver|{now}|aliyun-key")}
    body = {"action": "publish", "id": session.stream_name, "app": "live", "time": now}
    assert post(body, provider="aliyun", **headers).json()["result"] == "done"
    assert LiveSession.objects.get(pk=session.pk).state == "live"
    forged = {**headers, "HTTP_ALI_LIVE_SIGNATURE": md5(f"testserver|{now}|other")}
    assert post({**body, "action": "publish_done"}, provider="aliyun", **forged).status_code == 403
    assert LiveSession.objects.get(pk=session.pk).state == "live"


def test_recording_without_a_url_is_acknowledged_and_changes_nothing():
    session = make_live_session()
    response = post(signed({"event_type": 100, "stream_id": session.stream_name, "file_id": "f1"}))
    assert (response.status_code, response.json()["result"]) == (200, "refused:invalid_url")
    assert LiveSession.objects.get(pk=session.pk).replay_url == ""
