"""Registrations from a shared meeting link (?ref=<share code>): the sharer is recorded on the registration, as
forwarded reads are credited — also when the doctor signs in after opening the link; an unknown or forged code is
ignored without error and nobody refers themselves. Inside WeChat the meeting page's share card carries the
reader's own code."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client

from cms.reading.services import share_code_for
from engage.audit.models import AuditEntry
from events.registrations.models import Registration
from tests.events.factories import make_doctor, make_event
from tests.members.wechat.conftest import WECHAT_UA

pytestmark = pytest.mark.django_db


def _open_and_register(client, event, ref: str) -> Registration:
    page = client.get(event.url, {"ref": ref})
    assert page.status_code == 200
    response = client.post(f"/events/{event.pk}/register/")
    assert response.status_code == 302
    return Registration.objects.get(event=event, status__in=Registration.ACTIVE)


def test_the_sharer_of_the_link_is_the_referrer(client):
    event = make_event(capacity=5)
    sharer, doctor = make_doctor(), make_doctor()
    client.force_login(doctor)
    registration = _open_and_register(client, event, share_code_for(user=sharer).code)
    assert registration.doctor == doctor and registration.referrer == sharer
    entry = AuditEntry.objects.get(action="events.registration.created")
    assert entry.after["referrer"] == sharer.pk


def test_a_link_opened_before_signing_in_still_counts():
    event = make_event(capacity=5)
    sharer, doctor = make_doctor(), make_doctor()
    browser = Client()
    assert browser.get(event.url, {"ref": share_code_for(user=sharer).code}).status_code == 200
    browser.force_login(doctor)  # signs in after reading (the session keeps the code)
    assert browser.post(f"/events/{event.pk}/register/").status_code == 302
    assert Registration.objects.get(doctor=doctor).referrer == sharer


@pytest.mark.parametrize("ref", ["NOPE1234", "x" * 40, "<script>", ""])
def test_an_unknown_or_forged_code_is_ignored(client, ref):
    event = make_event(capacity=5)
    doctor = make_doctor()
    client.force_login(doctor)
    registration = _open_and_register(client, event, ref)
    assert registration.status == Registration.Status.CONFIRMED and registration.referrer is None


def test_nobody_refers_themselves(client):
    event = make_event(capacity=5)
    doctor = make_doctor()
    client.force_login(doctor)
    registration = _open_and_register(client, event, share_code_for(user=doctor).code)
    assert registration.referrer is None


def test_the_first_shared_link_wins(client):
    event = make_event(capacity=5)
    first, second, doctor = make_doctor(), make_doctor(), make_doctor()
    client.force_login(doctor)
    client.get(event.url, {"ref": share_code_for(user=first).code})
    registration = _open_and_register(client, event, share_code_for(user=second).code)
    assert registration.referrer == first


def test_the_wechat_share_card_of_a_meeting_carries_the_readers_code(fake_wechat):
    event = make_event(capacity=5)
    doctor = make_doctor()
    browser = Client(HTTP_USER_AGENT=WECHAT_UA)
    browser.force_login(doctor)
    html = browser.get(event.url).content.decode()
    card = html.split('data-testid="wechat-share"', 1)[1].split(">", 1)[0]
    link = card.split('data-link="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert urlparse(link).path == event.url
    assert parse_qs(urlparse(link).query)["ref"] == [share_code_for(user=doctor).code]
