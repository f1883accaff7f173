"""Tickets: the secret, the QR endpoints (owner and staff only), the ticket page and the .ics file."""

import io
import math
import re

import pytest
from PIL import Image

from events.calendar import ics_escape, ics_fold
from events.services.registrations import registration_cancel, registration_create
from events.services.tickets import ALPHABET, SECRET_LENGTH, ticket_secret_new
from tests.events.factories import make_doctor, make_event, make_rep, make_staff

pytestmark = pytest.mark.django_db


def test_secret_alphabet_has_no_look_alikes_and_at_least_128_bits():
    assert not set("0O1lIiL") & set(ALPHABET) and ALPHABET == ALPHABET.upper()
    assert len(set(ALPHABET)) == len(ALPHABET)
    assert SECRET_LENGTH * math.log2(len(ALPHABET)) >= 128
    secrets = {ticket_secret_new() for _ in range(2000)}
    assert len(secrets) == 2000
    assert all(len(s) == SECRET_LENGTH and set(s) <= set(ALPHABET) for s in secrets)
    # Every character of the alphabet turns up: the choice is not biased to a subset.
    assert set("".join(secrets)) == set(ALPHABET)


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


def test_staff_see_the_qr_but_other_doctors_reps_and_anonymous_do_not(client, confirmed):
    secret = confirmed.ticket.secret
    anonymous = client.get(f"/events/tickets/{secret}/qr.svg")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    for user in (make_doctor(), make_rep()):
        client.force_login(user)
        assert client.get(f"/events/tickets/{secret}/qr.svg").status_code == 404
        assert client.get(f"/events/tickets/{secret}/").status_code == 404
        assert client.get(f"/events/tickets/{secret}/calendar.ics").status_code == 404
    client.force_login(make_staff())
    assert client.get(f"/events/tickets/{secret}/qr.png").status_code == 200


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
