"""Registration pages: the box's register and cancel forms, my meetings, invitations, a rep's quotas."""

import io
import math
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image

from events.registrations.exporters import ics_escape, ics_fold
from events.registrations.models import Registration
from events.registrations.selectors import registration_box_context
from events.registrations.services import registration_cancel, registration_create
from events.registrations.tickets import ALPHABET, SECRET_LENGTH, ticket_secret_new
from tests.events.factories import (
    make_doctor,
    make_event,
    make_quota,
    make_registration,
    make_rep,
    make_staff,
    open_event,
)

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
    html = render_to_string("events/registrations/includes/registration_box.html",
                            {"box": registration_box_context(user=doctor, event=event)}, request=request)
    assert 'data-testid="registration-form"' in html and f"/events/{event.pk}/register/" in html
    make_registration(event, doctor)
    html = render_to_string("events/registrations/includes/registration_box.html",
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




def test_secret_alphabet_has_no_look_alikes_and_at_least_128_bits():
    assert not set("0O1lIiL") & set(ALPHABET) and ALPHABET == ALPHABET.upper()
    assert len(set(ALPHABET)) == len(ALPHABET)
    assert SECRET_LENGTH * math.log2(len(ALPHABET)) >= 128
    secrets = {ticket_secret_new() for _ in range(2000)}
    assert len(secrets) == 2000
    assert all(len(s) == SECRET_LENGTH and set(s) <= set(ALPHABET) for s in secrets)
    # Every character of the alphabet turns up: the choice is not biased to a subset.
    assert set("".join(secrets)) == set(ALPHABET)


def test_every_character_of_a_secret_is_equally_likely_at_every_position():
    """Chi-squared over 3,600 secrets (≈100,000 characters, 30 degrees of freedom): a uniform draw exceeds 70 about
    once in 20,000 runs; a byte taken modulo 31 (eight characters 12 % likelier) scores in the hundreds, and so
    would a position that repeats or skips part of the alphabet."""
    from collections import Counter

    drawn = [ticket_secret_new() for _ in range(3600)]

    def chi_squared(characters) -> float:
        counts = Counter(characters)
        expected = len(characters) / len(ALPHABET)
        return sum((counts.get(c, 0) - expected) ** 2 / expected for c in ALPHABET)

    assert chi_squared("".join(drawn)) < 70
    for position in (0, SECRET_LENGTH // 2, SECRET_LENGTH - 1):  # 3,600 draws each: expected ≈116 per character
        assert chi_squared([secret[position] for secret in drawn]) < 80


@pytest.fixture
def confirmed():
    event = make_event(title="糖尿病, 肾病; 与\\心血管", venue_name="上海国际会议中心", capacity=5)
    doctor = make_doctor()
    return registration_create(event=event, doctor=doctor)


def test_owner_sees_qr_png_and_svg(client, confirmed):
    client.force_login(confirmed.doctor)
    secret = confirmed.ticket.secret
    png = client.get(f"/events/tickets/{secret}/qr.png")
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert png["Cache-Control"] == "private, no-store"
    assert Image.open(io.BytesIO(png.content)).size[0] > 100
    svg = client.get(f"/events/tickets/{secret}/qr.svg")
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content


def test_only_the_owner_sees_the_ticket_not_staff_other_doctors_reps_or_anonymous(client, confirmed):
    secret = confirmed.ticket.secret
    anonymous = client.get(f"/events/tickets/{secret}/qr.svg")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    for user in (make_doctor(), make_rep(), make_staff(), make_staff("admin")):
        client.force_login(user)
        assert client.get(f"/events/tickets/{secret}/qr.svg").status_code == 404
        assert client.get(f"/events/tickets/{secret}/qr.png").status_code == 404
        assert client.get(f"/events/tickets/{secret}/").status_code == 404
        assert client.get(f"/events/tickets/{secret}/calendar.ics").status_code == 404


@pytest.mark.parametrize("secret", ["AAAA2222BBBB3333CCCC4444DDDD", "abcd", "A" * 41, "%27OR1%3D1"])
def test_unknown_or_malformed_secrets_404(client, confirmed, secret):
    client.force_login(confirmed.doctor)
    assert client.get(f"/events/tickets/{secret}/qr.svg").status_code == 404
    assert client.get(f"/events/tickets/{secret}/").status_code == 404


def test_ticket_page_shows_big_qr_meeting_time_and_venue(client, confirmed):
    client.force_login(confirmed.doctor)
    secret = confirmed.ticket.secret
    html = client.get(f"/events/tickets/{secret}/").content.decode()
    assert f"/events/tickets/{secret}/qr.svg" in html and secret in html
    assert "上海国际会议中心" in html and confirmed.event.title.replace("\\", "\\") in html
    assert 'data-testid="ticket-ics"' in html


def test_revoked_ticket_has_no_qr(client, confirmed):
    registration_cancel(registration=confirmed, actor=confirmed.doctor)
    client.force_login(confirmed.doctor)
    secret = confirmed.ticket.secret
    assert client.get(f"/events/tickets/{secret}/qr.png").status_code == 404
    html = client.get(f"/events/tickets/{secret}/").content.decode()
    assert 'data-testid="ticket-revoked"' in html and "qr.svg" not in html
    ics = client.get(f"/events/tickets/{secret}/calendar.ics").content.decode()
    assert "STATUS:CANCELLED" in ics


def test_ics_is_rfc5545(client, confirmed):
    client.force_login(confirmed.doctor)
    response = client.get(f"/events/tickets/{confirmed.ticket.secret}/calendar.ics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    assert "attachment" in response["Content-Disposition"]
    raw = response.content.decode("utf-8")
    assert raw.endswith("\r\n") and "\n" not in raw.replace("\r\n", "")
    lines = raw.split("\r\n")[:-1]
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert all(len(line.encode()) <= 75 for line in lines)
    unfolded = raw.replace("\r\n ", "")
    event = confirmed.event
    assert f"DTSTART:{event.starts_at.astimezone(__import__('datetime').UTC):%Y%m%dT%H%M%SZ}" in unfolded
    assert "SUMMARY:糖尿病\\, 肾病\\; 与\\\\心血管" in unfolded
    assert re.search(r"UID:ticket-\d+@testserver", unfolded) and "STATUS:CONFIRMED" in unfolded
    assert "TRIGGER:-PT60M" in unfolded


def test_ics_helpers():
    assert ics_escape("a,b;c\\d\ne\r\nf\x00") == "a\\,b\\;c\\\\d\\ne\\nf"
    folded = ics_fold("DESCRIPTION:" + "会" * 60)
    parts = folded.split("\r\n")
    assert all(len(p.encode()) <= 75 for p in parts) and all(p.startswith(" ") for p in parts[1:])
    assert "".join(p[1:] if i else p for i, p in enumerate(parts)) == "DESCRIPTION:" + "会" * 60


def test_my_meetings_lists_upcoming_soonest_first_then_past_and_shows_checked_in(client):
    from events.checkin.services import checkin_perform

    doctor = make_doctor()
    now = timezone.now()
    later = make_registration(make_event(title="下月的会", starts_at=now + timedelta(days=30)), doctor)
    today = open_event(title="今天的会")
    attended = make_registration(today, doctor)
    soon = make_registration(make_event(title="下周的会", starts_at=now + timedelta(days=7)), doctor)
    old = make_registration(make_event(title="去年的会", starts_at=now - timedelta(days=300)), doctor)
    recent = make_registration(make_event(title="上周的会", starts_at=now - timedelta(days=7)), doctor)
    assert checkin_perform(event=today, secret=attended.ticket.secret, staff=make_staff()).status == "ok"
    client.force_login(doctor)
    html = client.get("/events/me/").content.decode()
    order = [html.index(title) for title in ("今天的会", "下周的会", "下月的会", "上周的会", "去年的会")]
    assert order == sorted(order)
    assert html.index('data-testid="my-meetings-upcoming"') < order[0] < html.index('data-testid="my-meetings-past"')
    assert html.index('data-testid="my-meetings-past"') < order[3]
    card = html[html.index(f'data-event="{today.pk}"'):]
    card = card[:card.index("</section>")]
    assert 'data-testid="my-meeting-checked-in"' in card and "已签到" in card
    assert f"/events/tickets/{attended.ticket.secret}/qr.svg" not in card  # nothing left to show at the door
    assert html.count('data-testid="my-meeting-checked-in"') == 1
    for shown in (soon, later):
        assert f"/events/tickets/{shown.ticket.secret}/qr.svg" in html
    for gone in (old, recent):
        assert f"/events/tickets/{gone.ticket.secret}/qr.svg" not in html
