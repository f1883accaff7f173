"""The room page (doctors) and the moderators' console: who gets them, and a refusal that says why."""

import pytest
from django.test import Client

from tests.events.factories import make_staff
from tests.events.live.core_helpers import make_live_session, registered_doctor
from tests.factories import make_doctor


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.django_db
def test_a_registered_doctor_gets_the_room_with_its_socket_and_player():
    session = make_live_session(state="live")
    response = _client(registered_doctor(session)).get(f"/live/{session.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert f'data-ws="/ws/live/{session.pk}/"' in body and f'data-api="/api/v1/live/{session.pk}/"' in body
    assert "js/live-room.js" in body and "vendor/hls.js/hls.light.min.js" in body
    assert "<script>" not in body  # CSP: no inline script without the nonce


@pytest.mark.django_db
def test_refusals_render_the_reason_with_their_status():
    session = make_live_session(state="live")
    response = _client(make_doctor()).get(f"/live/{session.pk}/")
    assert response.status_code == 403
    assert 'data-code="not_registered"' in response.content.decode()
    assert "live-room.js" not in response.content.decode()
    assert _client().get(f"/live/{session.pk}/").status_code == 302  # sign in first
    assert _client(make_doctor()).get("/live/999999/").status_code == 404


@pytest.mark.django_db
def test_the_console_is_for_moderators_only():
    session = make_live_session(state="scheduled")
    response = _client(make_staff("medical_reviewer")).get(f"/live/{session.pk}/console/")
    assert response.status_code == 200
    assert "js/live-console.js" in response.content.decode()
    assert _client(registered_doctor(session)).get(f"/live/{session.pk}/console/").status_code == 403


@pytest.mark.django_db
def test_the_console_labels_question_and_poll_states_with_the_models_labels():
    import json
    import re

    from events.live.models import Poll, Question

    session = make_live_session(state="live")
    body = _client(make_staff("medical_reviewer")).get(f"/live/{session.pk}/console/").content.decode()
    found = re.search(r'<script id="live-state-labels"[^>]*>(.*?)</script>', body)
    labels = json.loads(found.group(1))
    # the labels in the request's language (zh-hans with compiled messages), never the codes
    assert labels["question"] == {value: str(label) for value, label in Question.State.choices}
    assert labels["poll"] == {value: str(label) for value, label in Poll.State.choices}
    assert labels["question"]["pending"] != "pending" and labels["poll"]["closed"] != "closed"
