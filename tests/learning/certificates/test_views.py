"""Certificate pages: the public verification page (valid, expired, revoked, unknown; no login; nothing personal
beyond name and course), the holder's pages, PDF and QR (holder, manager, staff; 404 for others), and the revoke
API (capability, reason, malformed input)."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from learning.certificates.models import Certificate
from tests.factories import user_with_role
from tests.learning.quals import certify, make_course, make_manager, make_rep, make_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued():
    rep = make_rep(email="rep-secret@example.com", mobile="13800001234")
    [certificate] = certify(rep, make_course(lessons=0))
    return certificate


def _verify(client, code):
    return client.get(reverse("learning:certificate_verify", args=[code]))


def test_verification_says_valid_with_name_and_course_only(client, issued):
    response = _verify(client, issued.code)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-status="valid"' in page
    assert issued.holder_name in page and issued.title in page
    assert "rep-secret@example.com" not in page and "13800001234" not in page
    assert response["X-Robots-Tag"] == "noindex"


def test_verification_says_expired_and_revoked(client, issued):
    with time_machine.travel(issued.expires_at + timedelta(days=1)):
        assert 'data-status="expired"' in _verify(client, issued.code).content.decode()
    Certificate.objects.filter(pk=issued.pk).update(revoked_at=timezone.now(), revoke_reason="内部原因")
    page = _verify(client, issued.code).content.decode()
    assert 'data-status="revoked"' in page and "内部原因" not in page


@pytest.mark.parametrize("code", ["unknown-code", "A" * 40])
def test_verification_of_an_unknown_code_is_404(client, code):
    response = _verify(client, code)
    assert response.status_code == 404 and 'data-status="unknown"' in response.content.decode()


def test_a_forged_or_oversized_code_does_not_route(client):
    assert client.get("/learning/verify/" + "A" * 41 + "/").status_code == 404
    assert client.get("/learning/verify/a%2Fb/").status_code == 404


def test_holder_manager_and_staff_open_the_certificate_others_get_404(client, issued):
    manager = make_manager()
    make_team(manager=manager, reps=[issued.user])
    urls = [reverse(name, args=[issued.pk]) for name in
            ("learning:certificate", "learning:certificate_pdf", "learning:certificate_qr")]
    for user in (issued.user, manager, user_with_role("compliance")):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 200, (user, url)
    for user in (make_rep(), make_manager(), user_with_role("doctor")):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 404
    client.logout()
    assert client.get(urls[0]).status_code == 302


def test_the_pdf_and_qr_carry_the_verification_url(client, issued):
    client.force_login(issued.user)
    pdf = client.get(reverse("learning:certificate_pdf", args=[issued.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    page = client.get(reverse("learning:certificate", args=[issued.pk])).content.decode()
    assert f"/learning/verify/{issued.code}/" in page
    qr = client.get(reverse("learning:certificate_qr", args=[issued.pk]))
    assert qr["Content-Type"] == "image/svg+xml" and b"<svg" in qr.content
    assert 'data-testid="certificate"' in client.get(reverse("learning:certificates_mine")).content.decode()


def test_revoke_api(client, issued):
    url = f"/api/v1/learning/certificates/{issued.pk}/revoke"
    client.force_login(user_with_role("marketing"))
    assert client.post(url, {"reason": "x"}, content_type="application/json").json()["code"] == "forbidden"
    client.force_login(user_with_role("compliance"))
    assert client.post(url, {"reason": ""}, content_type="application/json").json()["code"] == "reason_required"
    assert client.post(url, {"reason": "x", "extra": 1}, content_type="application/json").status_code in (400, 422)
    assert client.post(url, "not json", content_type="application/json").status_code in (400, 422)
    response = client.post(url, {"reason": "违规"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "revoked"
    assert client.post(url, {"reason": "违规"}, content_type="application/json").status_code == 409
    missing = client.post("/api/v1/learning/certificates/999999/revoke", {"reason": "x"},
                          content_type="application/json")
    assert missing.status_code == 404
