"""The live room's HTTP API end to end: snapshot and play-URL refresh by role, heartbeats, chat, Q&A and polls
through the API, and the moderators' actions."""

import json

import pytest
from django.test import Client

from events.live import services
from events.live.models import ChatMessage, Poll, Question, RoomSanction
from tests.events.factories import make_staff
from tests.events.live.core_helpers import make_live_session, registered_doctor
from tests.factories import make_doctor

pytestmark = pytest.mark.django_db

BASE = "/api/v1/live/{}"


def client_for(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def post(client, url, body=None):
    return client.post(url, json.dumps(body) if body is not None else "", content_type="application/json")


def test_snapshot_by_role(session, viewer, moderator):
    url = BASE.format(session.pk) + "/snapshot"
    anonymous = client_for().get(url)
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_authenticated")
    outsider = client_for(make_doctor()).get(url)
    assert (outsider.status_code, outsider.json()["code"]) == (403, "not_registered")
    unverified = client_for(make_doctor(verified=False)).get(url)
    assert (unverified.status_code, unverified.json()["code"]) == (403, "not_in_audience")
    data = client_for(viewer).get(url).json()
    assert (data["role"], data["mode"], data["session"]["state"]) == ("viewer", "live", "live")
    assert data["play"]["kind"] == "live" and data["play"]["url"]
    assert "queue" not in data and isinstance(data["last_event_id"], int)
    assert client_for(moderator).get(url).json()["role"] == "moderator"
    assert client_for(viewer).get(BASE.format(999999) + "/snapshot").status_code == 404


def test_banned_viewer_is_refused(session, viewer, moderator):
    services.participant_ban(session=session, user=viewer, actor=moderator)
    response = client_for(viewer).get(BASE.format(session.pk) + "/snapshot")
    assert (response.status_code, response.json()["code"]) == (403, "banned")


def test_ended_without_replay_is_gone_then_replay_plays(viewer, session, moderator):
    services.live_state_set(session=session, state="ended", actor=moderator)
    response = client_for(viewer).get(BASE.format(session.pk) + "/play")
    assert (response.status_code, response.json()["code"]) == (410, "ended")
    services.replay_store(session=session, url="https://vod.example.com/a/replay.m3u8", actor=make_staff())
    data = client_for(viewer).get(BASE.format(session.pk) + "/play").json()
    assert data["kind"] == "replay" and data["url"].startswith("https://vod.example.com/a/replay.m3u8")


def test_chat_question_vote_and_poll_through_the_api(session, viewer, moderator):
    doctor, staff = client_for(viewer), client_for(moderator)
    base = BASE.format(session.pk)
    response = post(doctor, base + "/chat", {"text": "你好"})
    assert response.status_code == 201 and ChatMessage.objects.get().text == "你好"
    assert post(doctor, base + "/chat", {"text": "x" * 600}).json()["code"] == "too_long"
    assert post(doctor, base + "/chat", {"txt": "typo"}).status_code == 422
    assert post(doctor, base + "/chat").status_code in (400, 422)
    response = post(doctor, base + "/questions", {"text": "剂量？", "anonymous": True})
    question = Question.objects.get()
    assert response.status_code == 201 and response.json()["state"] == "pending"
    assert post(doctor, base + f"/questions/{question.pk}/moderate", {"action": "approve"}).status_code == 403
    assert post(staff, base + f"/questions/{question.pk}/moderate", {"action": "approve"}).json()["state"] == \
        "approved"
    assert post(doctor, base + f"/questions/{question.pk}/vote").json()["score"] == 1
    assert post(doctor, base + f"/questions/{question.pk}/vote").json()["code"] == "already_voted"
    assert post(doctor, base + "/questions/999999/vote").status_code == 404
    created = post(staff, base + "/polls", {"question": "哪个？", "options": ["A", "B"]})
    assert created.status_code == 201
    poll = Poll.objects.get()
    assert post(staff, base + f"/polls/{poll.pk}/open").json()["state"] == "open"
    option = created.json()["options"][0]["id"]
    assert post(doctor, base + f"/polls/{poll.pk}/vote", {"options": [option]}).status_code == 200
    assert post(doctor, base + f"/polls/{poll.pk}/vote", {"options": [option]}).status_code == 409
    assert post(staff, base + f"/polls/{poll.pk}/show").json()["options"][0]["votes"] == 1
    assert post(staff, base + f"/polls/{poll.pk}/explode").status_code == 422
    snapshot = doctor.get(base + "/snapshot").json()
    assert snapshot["polls"][0]["my_choices"] == [option] and snapshot["polls"][0]["options"][0]["votes"] == 1
    assert snapshot["questions"][0]["author"] is None and snapshot["questions"][0]["voted"] is True


def test_moderator_actions(session, viewer, moderator):
    staff, base = client_for(moderator), BASE.format(session.pk)
    message = services.chat_post(session=session, author=viewer, text="广告")
    assert post(client_for(viewer), base + f"/chat/{message.pk}/delete").status_code == 403
    assert post(staff, base + f"/chat/{message.pk}/delete").json()["deleted"] is True
    assert post(staff, base + "/sanctions", {"user": viewer.pk, "kind": "mute"}).status_code == 200
    assert RoomSanction.objects.filter(user=viewer, kind="mute", lifted_at__isnull=True).exists()
    assert post(staff, base + "/sanctions", {"user": viewer.pk, "kind": "mute", "active": False}).status_code == 200
    assert not RoomSanction.objects.filter(user=viewer, lifted_at__isnull=True).exists()
    assert post(staff, base + "/sanctions", {"user": 99999999, "kind": "ban"}).status_code == 404
    assert post(staff, base + "/state", {"state": "ended"}).json()["state"] == "ended"
    assert staff.get(base + "/viewers").json()["count"] >= 0
    assert client_for(viewer).get(base + "/viewers").status_code == 403


def test_push_url_is_for_meeting_staff(session, viewer):
    assert client_for(make_staff("marketing")).get(BASE.format(session.pk) + "/push").json()["url"].startswith(
        "rtmp://")
    assert client_for(viewer).get(BASE.format(session.pk) + "/push").status_code == 403


def test_heartbeat_and_prompt(viewer, session):
    doctor, base = client_for(viewer), BASE.format(session.pk)
    data = post(doctor, base + "/heartbeat", {"mode": "live"}).json()
    assert data["live_minutes"] == 1 and data["prompt"] is False
    assert post(doctor, base + "/heartbeat", {"mode": "replay", "position": -5}).status_code == 422
    assert post(doctor, base + "/prompt").json()["code"] == "no_prompt"


def test_reactions(session, viewer):
    response = post(client_for(viewer), BASE.format(session.pk) + "/reactions", {"emoji": "👏"})
    assert response.json() == {"counted": True}
    assert post(client_for(viewer), BASE.format(session.pk) + "/reactions", {"emoji": "x"}).status_code == 400


def test_unmoderated_questions_reach_the_snapshot_at_once():
    session = make_live_session(state="live", questions_moderated=False)
    doctor = registered_doctor(session)
    post(client_for(doctor), BASE.format(session.pk) + "/questions", {"text": "Q?"})
    assert len(client_for(doctor).get(BASE.format(session.pk) + "/snapshot").json()["questions"]) == 1
