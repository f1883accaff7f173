"""A verified doctor opens a meeting page on the phone, registers, and sees the QR ticket; the ticket is in
My meetings; cancelling gives the seat back."""

import pytest

from events.registrations.models import Registration
from tests.e2e.conftest import ARTIFACTS, loaded_image_width, sign_in
from tests.events.factories import make_doctor, make_event

pytestmark = pytest.mark.e2e


def test_verified_doctor_registers_and_sees_the_qr_ticket(live_asgi_server, browser_page):
    page = browser_page
    event = make_event(title="2型糖尿病诊疗进展城市会", capacity=30, venue_name="上海国际会议中心")
    doctor = make_doctor()
    sign_in(page, live_asgi_server, doctor)

    page.goto(live_asgi_server + event.url)
    page.wait_for_selector("[data-testid=registration-box][data-status=none]")
    page.click("[data-testid=registration-submit]")
    page.wait_for_url("**/events/tickets/*/")
    page.wait_for_selector("[data-testid=ticket-qr]")
    registration = Registration.objects.get(doctor=doctor, event=event)
    assert registration.status == "confirmed"
    assert page.inner_text("[data-testid=ticket-secret]").strip() == registration.ticket.secret
    assert "上海国际会议中心" in page.inner_text("[data-testid=ticket-venue]")
    assert loaded_image_width(page, "[data-testid=ticket-qr]") > 0
    page.screenshot(path=str(ARTIFACTS / "event-ticket.png"), full_page=True)

    # Back on the meeting page the box shows the confirmed registration with its QR; My meetings lists it.
    page.goto(live_asgi_server + event.url)
    page.wait_for_selector("[data-testid=registration-box][data-status=confirmed]")
    assert loaded_image_width(page, "[data-testid=registration-qr]") > 0
    page.goto(live_asgi_server + "/members/me/")
    page.click("[data-testid=link-my-meetings]")
    page.wait_for_selector(f"[data-testid=my-meeting][data-event='{event.pk}'][data-status=confirmed]")

    # Cancelling from the meeting page revokes the ticket.
    page.goto(live_asgi_server + event.url)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=registration-cancel]")
    page.wait_for_selector("[data-testid=registration-box][data-status=none]")
    registration.refresh_from_db()
    assert registration.status == "cancelled" and registration.ticket.revoked_at is not None
