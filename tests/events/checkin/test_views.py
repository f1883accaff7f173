"""Self check-in with the rotating on-site code: genuine, expired, forged, outside the radius, outside the window."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from engage.core.geo import distance_m
from events.checkin.models import CheckIn, Scan
from events.checkin.services import (
    ONSITE_STEP_SECONDS,
    ONSITE_VALID_SECONDS,
    checkin_perform,
    onsite_code,
    onsite_code_check,
    self_checkin_perform,
)
from tests.events.factories import make_doctor, make_staff, open_event, ticket_for

pytestmark = pytest.mark.django_db
VENUE = {"venue_latitude": Decimal("31.230400"), "venue_longitude": Decimal("121.473700"), "venue_radius_m": 500}
NEAR = ("31.231000", "121.474000")  # about 70 m away
FAR = ("31.250000", "121.473700")  # about 2.2 km north


@pytest.fixture
def event():
    return open_event(**VENUE)


@pytest.fixture
def doctor_client(event):
    ticket = ticket_for(event, real_name="陈静")
    client = Client()
    client.force_login(ticket.registration.doctor)
    client.ticket = ticket
    return client


def _post(client, event, code, **extra):
    return client.post(f"/events/{event.pk}/self-checkin/", {"code": code, **extra})


def test_haversine():
    assert distance_m(39.9042, 116.4074, 31.2304, 121.4737) == pytest.approx(1_067_000, rel=0.01)
    assert distance_m(31.2304, 121.4737, 31.2304, 121.4737) == 0
    assert 60 < distance_m(31.2304, 121.4737, *map(float, NEAR)) < 80


def test_genuine_code_checks_in_with_the_position(event, doctor_client):
    response = _post(doctor_client, event, onsite_code(event), latitude=NEAR[0], longitude=NEAR[1], nonce="a")
    assert response.status_code == 201
    assert response.context["result"].status == "ok"
    scan = Scan.objects.get(event=event)
    assert scan.method == "self" and scan.staff == doctor_client.ticket.registration.doctor
    assert (scan.latitude, scan.longitude) == (Decimal(NEAR[0]), Decimal(NEAR[1]))
    assert CheckIn.objects.get().ticket == doctor_client.ticket


@pytest.mark.parametrize("position", [{}, {"latitude": "", "longitude": ""}, {"latitude": NEAR[0]},
                                      {"latitude": "abc", "longitude": "def"}, {"latitude": "91", "longitude": "0"},
                                      {"latitude": "nan", "longitude": "inf"}, {"latitude": "1e400", "longitude": "0"}])
def test_no_position_at_a_venue_with_coordinates_is_refused_with_a_clear_message(event, doctor_client, position):
    response = _post(doctor_client, event, onsite_code(event), nonce="n1", **position)
    assert response.status_code == 400
    assert response.context["result"].status == "position_required"
    assert "位置" in response.context["message"] and "工作人员" in response.context["message"]
    assert b"self-checkin-retry" in response.content
    scan = Scan.objects.get(event=event)
    assert scan.result == "position_required" and scan.ticket == doctor_client.ticket and scan.method == "self"
    assert not CheckIn.objects.exists()


def test_without_a_position_staff_still_check_the_doctor_in_at_the_door(event, doctor_client):
    assert _post(doctor_client, event, onsite_code(event)).status_code == 400
    staff = make_staff()
    result = checkin_perform(event=event, secret=doctor_client.ticket.secret, staff=staff, method="camera")
    assert result.status == "ok"
    assert CheckIn.objects.get().method == "camera"


def test_a_far_position_is_refused_however_often_it_is_retried(event, doctor_client):
    for attempt in range(5):
        response = _post(doctor_client, event, onsite_code(event), latitude=FAR[0], longitude=FAR[1],
                         nonce=f"far-{attempt}")
        assert response.status_code == 400 and response.context["result"].status == "outside_radius"
    for retry in ({}, {"latitude": "garbage", "longitude": FAR[1]}):  # dropping the position does not help
        assert _post(doctor_client, event, onsite_code(event), **retry).context["result"].status \
            == "position_required"
    assert list(Scan.objects.filter(event=event).values_list("result", flat=True).order_by("pk")) \
        == ["outside_radius"] * 5 + ["position_required"] * 2
    assert not CheckIn.objects.exists()


def test_code_is_valid_for_sixty_seconds(event):
    issued = (int(time.time()) // ONSITE_STEP_SECONDS) * ONSITE_STEP_SECONDS
    code = onsite_code(event, at=issued)
    assert onsite_code_check(event, code, at=issued + ONSITE_VALID_SECONDS) is None
    assert onsite_code_check(event, code, at=issued + ONSITE_VALID_SECONDS + 1) == "expired_code"
    assert onsite_code_check(event, code, at=issued - 60) == "expired_code"  # from the future


def test_expired_code_is_refused_with_a_clear_message(event, doctor_client):
    old = onsite_code(event, at=time.time() - ONSITE_VALID_SECONDS - ONSITE_STEP_SECONDS)
    response = _post(doctor_client, event, old)
    assert response.status_code == 400
    assert response.context["result"].status == "expired_code"
    assert b'data-status="expired_code"' in response.content
    assert response.context["message"] and b"self-checkin-message" in response.content
    assert Scan.objects.get(event=event).result == "expired_code"
    assert not CheckIn.objects.exists()


@pytest.mark.parametrize("forge", [
    lambda e: onsite_code(e).split(".")[0] + "." + "0" * 32,
    lambda e: onsite_code(open_event()),  # another meeting's genuine code
    lambda e: str(int(time.time()) // ONSITE_STEP_SECONDS) + "." + onsite_code(e).split(".")[1][::-1],
    lambda e: "", lambda e: ".", lambda e: "abc", lambda e: "١٢٣.abc", lambda e: "9" * 500 + ".x",
    lambda e: "' OR 1=1 --", lambda e: "\x00",
])
def test_forged_codes_are_refused(event, doctor_client, forge):
    response = _post(doctor_client, event, forge(event))
    assert response.status_code == 404
    assert response.context["result"].status == "invalid"
    assert Scan.objects.get(event=event).result == "invalid"
    assert not CheckIn.objects.exists()


def test_outside_the_radius(event, doctor_client):
    response = _post(doctor_client, event, onsite_code(event), latitude=FAR[0], longitude=FAR[1])
    assert response.status_code == 400
    assert response.context["result"].status == "outside_radius"
    scan = Scan.objects.get(event=event)
    assert scan.result == "outside_radius" and scan.ticket == doctor_client.ticket
    assert not CheckIn.objects.exists()


def test_venue_without_coordinates_ignores_the_position(doctor_client):
    event = open_event()
    ticket = ticket_for(event, doctor=doctor_client.ticket.registration.doctor)
    assert _post(doctor_client, event, onsite_code(event), latitude=FAR[0], longitude=FAR[1]).status_code == 201
    assert CheckIn.objects.get().ticket == ticket


@pytest.mark.parametrize("lat,lon", [("abc", "def"), ("91", "0"), ("nan", "inf"), ("1e400", "0")])
def test_garbage_positions_count_as_none(doctor_client, lat, lon):
    event = open_event()  # no venue coordinates: a position is not needed
    ticket_for(event, doctor=doctor_client.ticket.registration.doctor)
    assert _post(doctor_client, event, onsite_code(event), latitude=lat, longitude=lon).status_code == 201
    scan = Scan.objects.get(event=event)
    assert scan.latitude is None


def test_outside_the_window():
    start = timezone.now() + timedelta(days=3)
    event = open_event(starts_at=start, **VENUE)
    doctor = ticket_for(event).registration.doctor
    with time_machine.travel(start - timedelta(hours=2), tick=False):
        result = self_checkin_perform(event=event, doctor=doctor, code=onsite_code(event), latitude=NEAR[0],
                                      longitude=NEAR[1])
    assert result.status == "outside_window"


def test_a_doctor_without_a_ticket_is_refused(event):
    client = Client()
    client.force_login(make_doctor())
    response = _post(client, event, onsite_code(event))
    assert response.status_code == 404
    assert b'data-reason="no_ticket_or_bad_code"' in response.content
    assert Scan.objects.get(event=event).result == "invalid"


def test_double_submit_with_one_nonce_is_one_scan(event, doctor_client):
    code = onsite_code(event)
    first = _post(doctor_client, event, code, nonce="tap", latitude=NEAR[0], longitude=NEAR[1])
    second = _post(doctor_client, event, code, nonce="tap", latitude=NEAR[0], longitude=NEAR[1])
    assert first.status_code == second.status_code == 201
    assert Scan.objects.filter(event=event).count() == 1
    assert _post(doctor_client, event, code, nonce="tap2", latitude=NEAR[0], longitude=NEAR[1]).status_code == 409


def test_page_needs_sign_in_and_offers_the_button(event, doctor_client):
    url = f"/events/{event.pk}/self-checkin/?code={onsite_code(event)}"
    assert Client().get(url).status_code == 302
    response = doctor_client.get(url)
    assert response.status_code == 200
    assert b"self-checkin-button" in response.content
    assert not Scan.objects.exists()


def test_onsite_screen_is_for_staff_and_its_code_works(event, doctor_client):
    assert doctor_client.get(f"/events/{event.pk}/checkin/onsite/").status_code == 403
    assert doctor_client.get(f"/events/{event.pk}/checkin/onsite/code.svg").status_code == 403
    staff = Client()
    staff.force_login(make_staff())
    assert staff.get(f"/events/{event.pk}/checkin/onsite/").status_code == 200
    svg = staff.get(f"/events/{event.pk}/checkin/onsite/code.svg")
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    assert b"<svg" in svg.content
    url = svg["X-Self-Checkin-Url"]
    assert f"/events/{event.pk}/self-checkin/?code=" in url
    code = url.split("code=")[1].replace("%2E", ".")
    assert onsite_code_check(event, code) is None
    assert _post(doctor_client, event, code, latitude=NEAR[0], longitude=NEAR[1]).status_code == 201
