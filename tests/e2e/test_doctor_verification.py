"""A new doctor signs up with an SMS code, completes the profile with a certificate upload, a compliance officer
verifies them in the Wagtail admin, and the doctor sees "verified" on the member page."""

import io
import re

import pytest
from django.core.management import call_command
from PIL import Image

from engage.inbox.models import Notification
from engage.messaging.models import OutboundMessage
from members.accounts import demo as demo_data
from members.accounts.models import User
from members.profiles.models import DoctorProfile
from tests.e2e.conftest import ARTIFACTS, loaded_image_width

pytestmark = pytest.mark.e2e

MOBILE = "13812345678"
E164 = "+8613812345678"


def _latest_code(recipient: str) -> str:
    return OutboundMessage.objects.to(recipient).filter(template_key="verification_code").latest("id").send_params()[
        "code"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_new_doctor_is_verified_by_staff(live_asgi_server, browser_page, tmp_path):
    call_command("seed_demo", "--force", verbosity=0)
    base = live_asgi_server
    page = browser_page
    certificate = tmp_path / "licence-photo.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (640, 420), (235, 225, 200)).save(buffer, "JPEG")
    certificate.write_bytes(buffer.getvalue())

    # 1. Sign up with a mobile number and the SMS code from the outbox.
    page.goto(base + "/accounts/signup/")
    page.fill("input[name=phone]", MOBILE)
    if page.locator("input[name=display_name]").count():
        page.fill("input[name=display_name]", "陈医生")
    page.locator("input[name=accept_privacy]").check()  # sign-up records the privacy consent with the account
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/accounts/phone/verify/.*"))
    page.fill("input[name=code]", _latest_code(E164))
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()
    assert User.objects.get(mobile=E164).mobile_verified

    # 2. Complete the profile from the member page.
    page.goto(base + "/members/me/")
    page.locator("[data-testid=profile-complete-link]").click()
    page.wait_for_url(re.compile(r".*/members/profile/$"))
    page.fill("input[name=real_name]", "陈思远")
    page.select_option("select[name=gender]", "male")
    page.fill("[data-testid=hospital-search]", "协和")
    option = page.locator("[data-testid=hospital-results] li[role=option]").first
    option.wait_for()
    option.click()
    assert "北京协和医院" in page.locator("[data-testid=hospital-selected]").inner_text()
    page.select_option("select[name=department]", index=1)
    page.select_option("select[name=title]", "attending")
    page.locator("input[name=specialties]").first.check()
    page.fill("input[name=licence_number]", "110110201500123")
    page.set_input_files("input[name=certificate]", str(certificate))
    assert page.locator("input[name=accept_privacy]").is_checked()  # agreed at sign-up
    page.locator("input[name=marketing_wechat]").check()
    page.screenshot(path=str(ARTIFACTS / "verification-01-profile-form.png"), full_page=True)
    page.locator("[data-testid=profile-submit]").click()
    page.wait_for_url(re.compile(r".*/members/me/$"))
    status = page.locator("[data-testid=verification-status]")
    assert status.get_attribute("data-status") == "pending"
    page.screenshot(path=str(ARTIFACTS / "verification-02-pending.png"), full_page=True)
    profile = DoctorProfile.objects.get(user__mobile=E164)
    assert profile.certificate_content_type == "image/jpeg"

    # 3. A compliance officer signs in to the admin and verifies the doctor from the queue.
    staff_context = page.context.browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    staff = staff_context.new_page()
    staff.set_default_timeout(15000)
    try:
        staff.goto(base + "/admin/login/")
        staff.fill("input[name=username]", "demo-compliance")
        staff.fill("input[name=password]", demo_data.DEMO_PASSWORD)
        staff.locator("form button[type=submit]").first.click()
        staff.wait_for_url(re.compile(r".*/admin/$"))
        staff.goto(base + "/admin/verification/")
        staff.locator(f"tr[data-profile-id='{profile.pk}'] [data-testid=verification-open]").click()
        staff.wait_for_url(re.compile(rf".*/admin/verification/{profile.pk}/$"))
        # served by the checked view
        assert loaded_image_width(staff, "[data-testid=verification-certificate] img") == 640
        staff.screenshot(path=str(ARTIFACTS / "verification-03-admin-detail.png"), full_page=True)
        staff.locator("[data-testid=decision-verify]").click()
        staff.wait_for_url(re.compile(r".*/admin/verification/$"))
        staff.screenshot(path=str(ARTIFACTS / "verification-04-admin-queue.png"), full_page=True)
    finally:
        staff_context.close()

    # 4. The doctor sees the result.
    page.goto(base + "/members/me/")
    status = page.locator("[data-testid=verification-status]")
    assert status.get_attribute("data-status") == "verified"
    assert status.inner_text().strip()
    page.screenshot(path=str(ARTIFACTS / "verification-05-verified.png"), full_page=True)
    profile.refresh_from_db()
    assert profile.status == "verified"
    # The result reaches the inbox; no SMS, since the doctor consented to WeChat only (and has no openid here).
    assert Notification.objects.filter(user__mobile=E164, kind="verification.decided").exists()
    assert not OutboundMessage.objects.to(E164).exclude(template_key="verification_code").exists()
    profile.certificate.storage.delete(profile.certificate.name)  # the test's upload, not left in PRIVATE_ROOT
