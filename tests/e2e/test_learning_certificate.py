"""A rep on a phone opens their certificate from "My certificates", sees its QR code and downloads the PDF; the QR's
verification page (no sign-in) says the certificate is valid, with the rep's name and the course."""

import pytest

from tests.e2e.conftest import ARTIFACTS, loaded_image_width, sign_in
from tests.learning.quals import certify, make_course, make_rep

pytestmark = pytest.mark.e2e


@pytest.fixture
def issued(live_asgi_server):
    """Issued before the browser starts (its notification is pushed outside Playwright's event loop)."""
    rep = make_rep(display_name="陈晓明")
    course = make_course(lessons=0)
    [certificate] = certify(rep, course)
    return rep, course, certificate


def test_rep_opens_the_certificate_and_its_qr_verifies_valid(live_asgi_server, issued, browser_page):
    page = browser_page
    rep, course, certificate = issued
    sign_in(page, live_asgi_server, rep)

    page.goto(live_asgi_server + "/learning/certificates/")
    page.locator(f"[data-testid=certificate][data-certificate='{certificate.pk}'] a").click()
    page.wait_for_selector("[data-testid=certificate-page][data-status=valid]")
    assert loaded_image_width(page, "[data-testid=certificate-qr]") > 0
    pdf = page.request.get(live_asgi_server + page.locator("[data-testid=certificate-pdf]").get_attribute("href"))
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    page.screenshot(path=str(ARTIFACTS / "learning-certificate.png"))

    verify_url = page.locator("[data-testid=certificate-verify-link]").get_attribute("href")
    assert verify_url.endswith(f"/learning/verify/{certificate.code}/")
    page.context.clear_cookies()  # the verification page is public
    page.goto(verify_url)
    result = page.locator("[data-testid=certificate-verify]")
    assert result.get_attribute("data-status") == "valid"
    assert page.locator("[data-testid=verify-holder]").inner_text() == "陈晓明"
    assert page.locator("[data-testid=verify-course]").inner_text() == course.title
    assert "有效" in page.locator("[data-testid=verify-result]").inner_text()
