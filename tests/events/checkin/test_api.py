"""Who sees and checks in whom on site: a rep only the doctors of their own quota, staff everyone; the search,
the check-in answers and the scanner page never carry a ticket secret (only the owner's ticket page does)."""

import pytest
from django.test import Client

from events.checkin.models import CheckIn, Scan
from events.checkin.selectors import checkin_search
from events.checkin.services import checkin_perform
from tests.events.factories import (
    make_doctor,
    make_quota,
    make_registration,
    make_rep,
    make_staff,
    open_event,
    post_checkin,
)

pytestmark = pytest.mark.django_db
SEARCH_URL = "/api/v1/events/{}/checkins/search"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def meeting():
    """A meeting with two reps' doctors and a staff-invited doctor, all named 王…."""
    event = open_event()
    rep, other_rep = make_rep(), make_rep()
    mine = make_registration(event, make_doctor(real_name="王一"), quota=make_quota(event, seats=3, rep=rep),
                             source="rep")
    theirs = make_registration(event, make_doctor(real_name="王二"),
                               quota=make_quota(event, seats=3, rep=other_rep), source="rep")
    staff_invited = make_registration(event, make_doctor(real_name="王三"), source="staff")
    return type("Meeting", (), {"event": event, "rep": rep, "mine": mine, "theirs": theirs,
                                "staff_invited": staff_invited,
                                "secrets": [r.ticket.secret for r in (mine, theirs, staff_invited)]})


def _assert_no_secret(meeting, content: bytes):
    for secret in meeting.secrets:
        assert secret.encode() not in content


def test_a_rep_searching_finds_only_the_doctors_of_their_own_quota(meeting):
    hits = _client(meeting.rep).get(SEARCH_URL.format(meeting.event.pk), {"q": "王"}).json()
    assert [h["id"] for h in hits] == [meeting.mine.pk]
    assert [h["id"] for h in checkin_search(meeting.event, "王", user=meeting.rep)] == [meeting.mine.pk]


def test_staff_searching_find_every_registrant(meeting):
    hits = _client(make_staff()).get(SEARCH_URL.format(meeting.event.pk), {"q": "王"}).json()
    assert {h["id"] for h in hits} == {meeting.mine.pk, meeting.theirs.pk, meeting.staff_invited.pk}


@pytest.mark.parametrize("who", ["rep", "staff"])
def test_no_search_answer_carries_a_ticket_secret(meeting, who):
    client = _client(meeting.rep if who == "rep" else make_staff())
    response = client.get(SEARCH_URL.format(meeting.event.pk), {"q": "王"})
    assert response.status_code == 200 and response.json()
    assert all("secret" not in hit for hit in response.json())
    _assert_no_secret(meeting, response.content)


def test_the_scanner_page_carries_no_ticket_secret(meeting):
    for user in (meeting.rep, make_staff()):
        response = _client(user).get(f"/events/{meeting.event.pk}/checkin/scanner/")
        assert response.status_code == 200
        _assert_no_secret(meeting, response.content)


def test_staff_check_in_by_choosing_the_doctor_writes_a_scan_row_like_a_scan(meeting):
    staff = make_staff()
    client = _client(staff)
    response = post_checkin(client, meeting.event, registration=meeting.theirs.pk, method="manual", nonce="c-1")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "ok" and response.json()["registration"]["id"] == meeting.theirs.pk
    _assert_no_secret(meeting, response.content)
    scan = Scan.objects.get()
    assert (scan.ticket_id, scan.staff_id, scan.method, scan.result) == (meeting.theirs.ticket.pk, staff.pk,
                                                                         "manual", "ok")
    assert meeting.theirs.ticket.secret not in scan.raw_input
    assert CheckIn.objects.get().scan_id == scan.pk
    again = post_checkin(client, meeting.event, registration=meeting.theirs.pk, method="manual")
    assert again.status_code == 409 and again.json()["status"] == "already_checked_in"
    _assert_no_secret(meeting, again.content)
    # The nonce replays the first answer, as for a scan.
    replay = post_checkin(client, meeting.event, registration=meeting.theirs.pk, method="manual", nonce="c-1")
    assert replay.status_code == 201 and Scan.objects.count() == 2


def test_a_rep_checks_in_their_own_doctor_by_choosing_them(meeting):
    response = post_checkin(_client(meeting.rep), meeting.event, registration=meeting.mine.pk, method="manual")
    assert response.status_code == 201
    assert CheckIn.objects.get().registration_id == meeting.mine.pk


@pytest.mark.parametrize("target", ["theirs", "staff_invited"])
def test_a_rep_choosing_a_doctor_outside_their_quota_is_refused(meeting, target):
    registration = getattr(meeting, target)
    response = post_checkin(_client(meeting.rep), meeting.event, registration=registration.pk, method="manual")
    assert response.status_code == 404 and response.json()["status"] == "invalid"
    assert "registration" not in response.json()  # nothing about that doctor
    assert not CheckIn.objects.exists()
    assert Scan.objects.get().result == "invalid"


def test_a_rep_scanning_a_ticket_outside_their_quota_is_refused(meeting):
    client = _client(meeting.rep)
    refused = post_checkin(client, meeting.event, secret=meeting.theirs.ticket.secret)
    assert refused.status_code == 404 and "registration" not in refused.json()
    assert not CheckIn.objects.exists()
    assert post_checkin(client, meeting.event, secret=meeting.mine.ticket.secret).status_code == 201


def test_choosing_a_registration_of_another_meeting_is_invalid(meeting):
    other = open_event()
    elsewhere = make_registration(other, make_doctor())
    response = post_checkin(_client(make_staff()), meeting.event, registration=elsewhere.pk)
    assert response.status_code in (400, 404) and not CheckIn.objects.exists()
    assert elsewhere.ticket.secret.encode() not in response.content


@pytest.mark.parametrize("body", [{}, {"nonce": "x"}, {"registration": "abc"}, {"registration": -1},
                                  {"registration": 10**15}, {"registration": None, "secret": None},
                                  {"registration": 1, "secret": "ABCD"}])
def test_malformed_choices_are_refused_and_change_nothing(meeting, body):
    response = post_checkin(_client(make_staff()), meeting.event, **body)
    assert 400 <= response.status_code < 500
    assert not CheckIn.objects.exists()


def test_the_service_refuses_a_rep_outside_their_quota_by_registration(meeting):
    result = checkin_perform(event=meeting.event, registration_id=meeting.theirs.pk, staff=meeting.rep,
                             method="manual")
    assert result.status == "invalid" and not CheckIn.objects.exists()
    ok = checkin_perform(event=meeting.event, registration_id=meeting.mine.pk, staff=meeting.rep, method="manual")
    assert ok.status == "ok"


def test_the_ticket_page_is_for_its_owner_only(meeting):
    secret = meeting.mine.ticket.secret
    owner = _client(meeting.mine.doctor)
    assert owner.get(f"/events/tickets/{secret}/").status_code == 200
    for user in (make_staff(), make_staff("admin"), meeting.rep):
        client = _client(user)
        for url in (f"/events/tickets/{secret}/", f"/events/tickets/{secret}/qr.svg",
                    f"/events/tickets/{secret}/calendar.ics"):
            assert client.get(url).status_code == 404


def test_the_admin_check_in_log_shows_no_ticket_secret(meeting):
    staff = make_staff()
    client = _client(staff)
    for registration in (meeting.mine, meeting.theirs):
        post_checkin(client, meeting.event, secret=registration.ticket.secret, method="wedge")
    post_checkin(client, meeting.event, secret=meeting.mine.ticket.secret, method="wedge")  # already checked in
    response = _client(make_staff("admin")).get(f"/admin/events/{meeting.event.pk}/checkin/log/")
    assert response.status_code == 200 and meeting.mine.ticket.secret[:4].encode() in response.content
    _assert_no_secret(meeting, response.content)
