"""On-site staff check a doctor in on the scanner page: the ticket code typed into the keyboard-wedge field plus
Enter gives the green result with the doctor's name; the same code again gives the amber one."""

import pytest

from events.checkin.models import CheckIn
from tests.e2e.conftest import ARTIFACTS, sign_in
from tests.events.factories import make_staff, open_event, ticket_for

pytestmark = pytest.mark.e2e


def test_staff_checks_a_doctor_in_with_the_wedge_field(live_asgi_server, browser_page):
    page = browser_page
    event = open_event()
    ticket = ticket_for(event, real_name="周丽娟")
    sign_in(page, live_asgi_server, make_staff("marketing"))

    page.goto(f"{live_asgi_server}/events/{event.pk}/checkin/scanner/")
    wedge = page.locator("[data-testid=scanner-wedge]")
    wedge.fill(ticket.secret)
    wedge.press("Enter")
    result = page.locator("[data-testid=scanner-result][data-status=ok]")
    result.wait_for()
    assert page.locator("[data-testid=scanner-result-name]").inner_text() == "周丽娟"
    assert "is-ok" in result.get_attribute("class")
    color = result.evaluate("node => getComputedStyle(node).backgroundColor")
    assert color == "rgb(7, 193, 96)"  # green
    page.screenshot(path=str(ARTIFACTS / "checkin-ok.png"))
    assert CheckIn.objects.filter(ticket=ticket, annulled_at__isnull=True).count() == 1

    assert wedge.input_value() == ""
    wedge.fill(ticket.secret)
    wedge.press("Enter")
    page.locator("[data-testid=scanner-result][data-status=already_checked_in]").wait_for()
    assert page.locator("[data-testid=scanner-result-name]").inner_text() == "周丽娟"
    assert CheckIn.objects.filter(ticket=ticket).count() == 1
