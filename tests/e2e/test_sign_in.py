"""A demo doctor opens the portal, switches to English and signs in with the SMS code from the outbox."""

import re

import pytest
from django.core.management import call_command

from engage.messaging.models import OutboundMessage
from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

DEMO_DOCTOR_MOBILE = "+8613900000001"


def test_doctor_signs_in_with_code_in_english(live_asgi_server, browser_page):
    call_command("seed_demo", "--force", verbosity=0)
    page = browser_page

    page.goto(live_asgi_server + "/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.get_by_text("仅供医疗卫生专业人士参考").first.is_visible()
    page.screenshot(path=str(ARTIFACTS / "01-home-zh.png"), full_page=True)

    page.locator("[data-testid=lang-en]").first.click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_text("For healthcare professionals only").first.is_visible()

    page.goto(live_asgi_server + "/accounts/login/")
    page.fill("input[name=login]", "13900000001")
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/accounts/login/code/confirm/.*"))

    message = OutboundMessage.objects.to(DEMO_DOCTOR_MOBILE).latest("id")
    assert message.language == "en"
    page.fill("input[name=code]", message.send_params()["code"])
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/members/me/$"))

    member = page.locator("[data-testid=member-page]")
    member.wait_for()
    assert "My account" in page.content()
    page.screenshot(path=str(ARTIFACTS / "02-member-page-en.png"), full_page=True)
    assert (ARTIFACTS / "02-member-page-en.png").stat().st_size > 1000
