"""Registration API: POST /api/v1/events/{id}/registrations, DELETE …/registrations/mine, GET /me/registrations."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from wagtail.models import APIToken

from events.registrations.models import Registration
from tests.events.factories import make_doctor, make_event, make_quota, make_rep, make_staff, open_quota

pytestmark = pytest.mark.django_db
S = Registration.Status


def bearer(user) -> dict:
    _token, plaintext = APIToken.create_token(user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}


def url(event_id) -> str:
    return f"/api/v1/events/{event_id}/registrations"


def post(client, event_id, body=None, auth=None, raw=None):
    data = raw if raw is not None else ("" if body is None else json.dumps(body))
    return client.post(url(event_id), data=data, content_type="application/json", **(auth or {}))


def test_register_confirmed_with_ticket_by_token(client):
    event = make_event(capacity=5)
    doctor = make_doctor()
    response = post(client, event.pk, {}, auth=bearer(doctor))
    assert response.status_code == 201, response.content
    body = response.json()
    registration = Registration.objects.get(pk=body["registration_id"])
    assert body["status"] == "confirmed" and body["ticket"] == {"secret": registration.ticket.secret}
    assert registration.doctor == doctor


def test_register_without_body_by_session(client):
    event = make_event(capacity=5)
    client.force_login(make_doctor())
    response = post(client, event.pk)
    assert response.status_code == 201 and response.json()["status"] == "confirmed"


def test_register_pending_and_waitlisted_have_no_ticket(client):
    event = make_event(capacity=1, approval_required=True)
    first = post(client, event.pk, {}, auth=bearer(make_doctor())).json()
    second = post(client, event.pk, {}, auth=bearer(make_doctor())).json()
    assert (first["status"], first["ticket"]) == ("pending_approval", None)
    assert (second["status"], second["ticket"]) == ("waitlisted", None)


def test_register_with_a_rep_invitation(client):
    event = make_event(capacity=5)
    quota = make_quota(event, seats=2, rep=make_rep())
    body = post(client, event.pk, {"invite": quota.invite_code}, auth=bearer(make_doctor())).json()
    assert Registration.objects.get(pk=body["registration_id"]).quota == quota


def test_already_registered_409(client):
    event = make_event()
    auth = bearer(make_doctor())
    assert post(client, event.pk, {}, auth=auth).status_code == 201
    response = post(client, event.pk, {}, auth=auth)
    assert response.status_code == 409 and response.json()["code"] == "already_registered"
    assert open_quota(event).taken == 1


def test_not_eligible_403(client):
    event = make_event()
    response = post(client, event.pk, {}, auth=bearer(make_doctor(verified=False)))
    assert response.status_code == 403 and response.json()["code"] == "not_eligible"
    assert response.json()["message"]


def test_registration_closed_400(client):
    event = make_event(registration_opens_at=timezone.now() + timedelta(days=1))
    response = post(client, event.pk, {}, auth=bearer(make_doctor()))
    assert response.status_code == 400 and response.json()["code"] == "registration_closed"


@pytest.mark.parametrize("event_id", ["999999", "0", "abc", "99999999999999999999"])
def test_unknown_event_404(client, event_id):
    response = client.post(f"/api/v1/events/{event_id}/registrations", data="{}", content_type="application/json",
                           **bearer(make_doctor()))
    assert response.status_code == 404


def test_unpublished_and_hidden_events_404(client):
    draft = make_event(publish=False)
    kol_only = make_event(audience="kol")
    auth = bearer(make_doctor())
    assert post(client, draft.pk, {}, auth=auth).json()["code"] == "event_not_found"
    # A meeting for KOLs: a verified doctor is told they are not eligible.
    response = post(client, kol_only.pk, {}, auth=auth)
    assert response.status_code == 403 and response.json()["code"] == "not_eligible"


def test_anonymous_and_forged_token_401(client):
    event = make_event()
    assert post(client, event.pk, {}).status_code == 401
    assert post(client, event.pk, {}, auth={"HTTP_AUTHORIZATION": "Bearer forged"}).status_code == 401
    assert not Registration.objects.exists()


def test_session_needs_csrf():
    event = make_event()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_doctor())
    response = post(browser, event.pk, {})
    assert response.status_code == 403 and response.json()["code"] == "csrf_failed"


@pytest.mark.parametrize("raw,status,code", [
    ("{not json", 400, "malformed_request"),
    ('{"invite": "ABC", "seat": 1}', 422, "invalid_input"),  # unknown field
    ('{"invite": 12345}', 422, "invalid_input"),
    ('["invite"]', 422, "invalid_input"),
    (json.dumps({"invite": "A" * 10_000}), 422, "invalid_input"),
    (json.dumps({"invite": "ZZZZZZZZZZZZZZZZZZZZ"}), 400, "invalid_invite"),  # forged
    (json.dumps({"invite": "'; DROP TABLE events_quota; --"}), 400, "invalid_invite"),
    (json.dumps({"invite": "邀请码\u0000"}), 400, "invalid_invite"),
])
def test_bad_input(client, raw, status, code):
    event = make_event()
    make_quota(event, seats=5, rep=make_rep())
    response = post(client, event.pk, auth=bearer(make_doctor()), raw=raw)
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert not Registration.objects.exists()


def test_cancel_mine_revokes_and_promotes(client):
    event = make_event(capacity=1)
    first, second = make_doctor(), make_doctor()
    post(client, event.pk, {}, auth=bearer(first))
    post(client, event.pk, {}, auth=bearer(second))
    response = client.delete(f"{url(event.pk)}/mine", **bearer(first))
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    mine = Registration.objects.get(doctor=first)
    assert mine.ticket.revoked_at is not None
    assert Registration.objects.get(doctor=second).status == S.CONFIRMED
    again = client.delete(f"{url(event.pk)}/mine", **bearer(first))
    assert again.status_code == 404 and again.json()["code"] == "not_registered"


def test_cancel_after_deadline_400(client):
    event = make_event(cancellation_deadline=timezone.now() + timedelta(days=1))
    doctor = make_doctor()
    post(client, event.pk, {}, auth=bearer(doctor))
    type(event).objects.filter(pk=event.pk).update(cancellation_deadline=timezone.now() - timedelta(hours=1))
    response = client.delete(f"{url(event.pk)}/mine", **bearer(doctor))
    assert response.status_code == 400 and response.json()["code"] == "cancellation_closed"


def test_my_registrations_lists_only_mine(client):
    events = [make_event(), make_event()]
    doctor, other = make_doctor(), make_doctor()
    for event in events:
        post(client, event.pk, {}, auth=bearer(doctor))
    post(client, events[0].pk, {}, auth=bearer(other))
    client.delete(f"{url(events[1].pk)}/mine", **bearer(doctor))
    response = client.get("/api/v1/me/registrations", **bearer(doctor))
    assert response.status_code == 200
    rows = {row["event_id"]: row for row in response.json()}
    assert set(rows) == {e.pk for e in events}
    assert rows[events[0].pk]["status"] == "confirmed" and rows[events[0].pk]["ticket"]["secret"]
    assert rows[events[1].pk]["status"] == "cancelled" and rows[events[1].pk]["ticket"] is None
    assert client.get("/api/v1/me/registrations").status_code == 401


def test_staff_and_reps_get_not_eligible_for_a_doctors_meeting(client):
    event = make_event()
    for user in (make_rep(), make_staff()):
        response = post(client, event.pk, {}, auth=bearer(user))
        assert response.status_code == 403 and response.json()["code"] == "not_eligible"


def test_checkin_router_on_the_same_prefix_still_answers(client):
    """Two routers share /api/v1/events: the check-in route is still reachable next to registrations."""
    event = make_event()
    response = client.post(f"/api/v1/events/{event.pk}/checkins", data="{}", content_type="application/json",
                           **bearer(make_doctor()))
    assert response.status_code in (403, 422)
