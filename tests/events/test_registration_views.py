"""Registration pages: the box's register and cancel forms, my meetings, invitations, a rep's quotas."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from events.models import Registration
from events.selectors import registration_box_context
from tests.events.factories import make_doctor, make_event, make_quota, make_registration, make_rep, make_staff

pytestmark = pytest.mark.django_db
S = Registration.Status


def test_register_form_confirms_and_shows_the_ticket(client):
    event = make_event(capacity=3)
    doctor = make_doctor()
    client.force_login(doctor)
    response = client.post(f"/events/{event.pk}/register/")
    registration = Registration.objects.get(doctor=doctor)
    assert response.status_code == 302 and response["Location"] == f"/events/tickets/{registration.ticket.secret}/"


def test_register_form_needs_csrf_and_post():
    event = make_event()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_doctor())
    assert browser.post(f"/events/{event.pk}/register/").status_code == 403
    assert browser.get(f"/events/{event.pk}/register/").status_code == 405
    assert not Registration.objects.exists()


def test_register_refusal_is_a_message_not_an_error(client):
    event = make_event()
    client.force_login(make_doctor(verified=False))
    response = client.post(f"/events/{event.pk}/register/", {"next": "https://evil.example/"}, follow=False)
    assert response.status_code == 302 and "evil.example" not in response["Location"]
    assert not Registration.objects.exists()


def test_cancel_form(client):
    event = make_event(capacity=1)
    registration = make_registration(event, make_doctor())
    client.force_login(registration.doctor)
    assert client.post(f"/events/{event.pk}/cancel/").status_code == 302
    assert Registration.objects.get(pk=registration.pk).status == S.CANCELLED


def test_unknown_meeting_404(client):
    client.force_login(make_doctor())
    assert client.post("/events/999999/register/").status_code == 404


def test_registration_box_states():
    event = make_event(capacity=1, cancellation_deadline=timezone.now() + timedelta(days=1))
    doctor, other, pending = make_doctor(), make_doctor(), make_doctor(verified=False)
    assert registration_box_context(user=doctor, event=event)["can_register"]
    assert registration_box_context(user=pending, event=event)["eligibility"].code == "not_eligible"
    make_registration(event, doctor)
    make_registration(event, other, status="waitlisted")
    box = registration_box_context(user=doctor, event=event)
    assert box["registration"] and box["ticket"] and box["can_cancel"] and not box["can_register"]
    assert registration_box_context(user=other, event=event)["waitlist_position"] == 1
    from django.contrib.auth.models import AnonymousUser

    assert registration_box_context(user=AnonymousUser(), event=event)["eligibility"].code == "sign_in_required"


def test_registration_box_renders(rf):
    from django.template.loader import render_to_string

    event = make_event()
    doctor = make_doctor()
    request = rf.get("/")
    request.user = doctor
    html = render_to_string("events/includes/registration_box.html",
                            {"box": registration_box_context(user=doctor, event=event)}, request=request)
    assert 'data-testid="registration-form"' in html and f"/events/{event.pk}/register/" in html
    make_registration(event, doctor)
    html = render_to_string("events/includes/registration_box.html",
                            {"box": registration_box_context(user=doctor, event=event)}, request=request)
    assert 'data-testid="registration-qr"' in html and 'data-testid="registration-cancel-form"' in html


def test_my_meetings_lists_registrations_with_qr_and_is_linked_from_member_home(client):
    doctor = make_doctor()
    confirmed = make_registration(make_event(title="心衰管理会"), doctor)
    make_registration(make_event(title="高血压会"), doctor, status="waitlisted")
    make_registration(make_event(title="别人的会"), make_doctor())
    client.force_login(doctor)
    html = client.get("/events/me/").content.decode()
    assert "心衰管理会" in html and "高血压会" in html and "别人的会" not in html
    assert f"/events/tickets/{confirmed.ticket.secret}/qr.svg" in html
    assert "/events/me/" in client.get("/members/me/").content.decode()
    client.logout()
    assert client.get("/events/me/").status_code == 302


def test_invitation_page_registers_into_the_reps_quota(client):
    event = make_event(capacity=10)
    rep = make_rep()
    quota = make_quota(event, seats=2, rep=rep)
    doctor = make_doctor()
    client.force_login(doctor)
    html = client.get(f"/events/invite/{quota.invite_code}/").content.decode()
    assert f'name="invite" value="{quota.invite_code}"' in html
    client.post(f"/events/{event.pk}/register/", {"invite": quota.invite_code})
    assert Registration.objects.get(doctor=doctor).quota == quota
    assert client.get("/events/invite/ZZZZZZZZZZZZZZZZZZZZ/").status_code == 404


def test_rep_sees_own_quotas_and_invitation_qr(client):
    event = make_event()
    rep, other_rep = make_rep(), make_rep()
    mine = make_quota(event, seats=3, rep=rep)
    theirs = make_quota(event, seats=3, rep=other_rep)
    client.force_login(rep)
    html = client.get("/events/rep/quotas/").content.decode()
    assert mine.invite_code in html and theirs.invite_code not in html
    assert client.get(f"/events/invite/{mine.invite_code}/qr.svg").status_code == 200
    assert client.get(f"/events/invite/{theirs.invite_code}/qr.svg").status_code == 404
    client.force_login(make_doctor())
    assert client.get("/events/rep/quotas/").status_code == 403
    assert client.get(f"/events/invite/{mine.invite_code}/qr.svg").status_code == 404
    client.force_login(make_staff())
    assert client.get(f"/events/invite/{mine.invite_code}/qr.svg").status_code == 200
