"""The certificates admin in zh-hans: the list with its filters for training and compliance staff, one certificate,
and revoking it with a required reason through the audited service; only those who may revoke see the button,
and the public verification page says revoked afterwards."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from engage.audit.models import AuditEntry
from learning.certificates.models import Certificate
from tests.factories import user_with_role
from tests.learning.quals import certify, make_course, make_curriculum, make_product, make_rep, require

pytestmark = pytest.mark.django_db
ZH = {"Accept-Language": "zh-hans"}
LIST = "/admin/learning_certificates/"


def _client(role):
    client = Client(headers=ZH)
    client.force_login(user_with_role(role))
    return client


def _page(response) -> str:
    return response.content.decode()


@pytest.fixture
def certificates():
    """Three reps' course certificates: one valid, one expired, one revoked; the valid one's course is about a
    product (through the curriculum it requires)."""
    valid_rep, expired_rep, revoked_rep = make_rep(), make_rep(), make_rep()
    course, other_course = make_course(lessons=0), make_course(lessons=0)
    product = require(make_curriculum(courses=[course]), make_product("拜糖平"))
    valid = next(c for c in certify(valid_rep, course) if c.course_id)
    expired = next(c for c in certify(expired_rep, other_course) if c.course_id)
    Certificate.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    revoked = next(c for c in certify(revoked_rep, other_course) if c.course_id)
    Certificate.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now(), revoke_reason="测试")
    return {"valid": valid, "expired": expired, "revoked": revoked, "product": product}


@pytest.mark.parametrize("role", ["marketing", "compliance", "admin"])
def test_the_list_opens_in_chinese_for_training_and_compliance_staff(certificates, role):
    response = _client(role).get(LIST)
    assert response.status_code == 200
    page = _page(response)
    assert 'lang="zh-hans"' in page and "证书" in page
    for certificate in certificates.values():
        if isinstance(certificate, Certificate):
            assert certificate.holder_name in page
    assert "有效" in page and "已过期" in page and "已撤销" in page


def test_the_list_and_detail_refuse_others(certificates):
    certificate = certificates["valid"]
    for url in (LIST, f"{LIST}inspect/{certificate.pk}/", f"{LIST}revoke/{certificate.pk}/"):
        response = _client("medical_reviewer").get(url)
        assert response.status_code == 302 and response["Location"] == "/admin/", url
        rep = Client(headers=ZH)
        rep.force_login(make_rep())
        response = rep.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url


def test_the_list_filters_by_status_product_and_rep(certificates):
    client = _client("compliance")
    valid, expired, revoked = certificates["valid"], certificates["expired"], certificates["revoked"]

    def shown(**params):
        page = _page(client.get(LIST, params))
        return {c.pk for c in (valid, expired, revoked) if f"inspect/{c.pk}/" in page}

    assert shown() == {valid.pk, expired.pk, revoked.pk}
    assert shown(status="valid") == {valid.pk}
    assert shown(status="expired") == {expired.pk}
    assert shown(status="revoked") == {revoked.pk}
    assert shown(product=certificates["product"].pk) == {valid.pk}
    assert shown(user=expired.user_id) == {expired.pk}
    assert client.get(LIST, {"status": "nonsense", "product": "abc"}).status_code == 200


def test_only_people_who_may_revoke_see_the_button(certificates):
    valid, revoked = certificates["valid"], certificates["revoked"]
    url = f"{LIST}inspect/{valid.pk}/"
    assert 'data-testid="certificate-revoke"' in _page(_client("compliance").get(url))
    marketing = _page(_client("marketing").get(url))
    assert valid.holder_name in marketing and 'data-testid="certificate-revoke"' not in marketing
    assert 'data-testid="certificate-revoke"' not in _page(_client("compliance").get(
        f"{LIST}inspect/{revoked.pk}/"))
    # Marketing may read certificates, not revoke them: the page and the write are refused.
    client = _client("marketing")
    assert client.get(f"{LIST}revoke/{valid.pk}/")["Location"] == "/admin/"
    client.post(f"{LIST}revoke/{valid.pk}/", {"reason": "违规推广"})
    valid.refresh_from_db()
    assert valid.revoked_at is None
    assert not AuditEntry.objects.filter(action="learning.certificate.revoked").exists()


def test_revoking_needs_a_reason_and_is_audited_and_the_verification_page_says_revoked(certificates):
    valid = certificates["valid"]
    staff = user_with_role("compliance")
    client = Client(headers=ZH)
    client.force_login(staff)
    url = f"{LIST}revoke/{valid.pk}/"
    assert "撤销原因" in _page(client.get(url))
    for reason, message in (("", "此字段为必填项"), ("   ", "此字段为必填项"), ("长" * 301, "不超过 300 字符")):
        response = client.post(url, {"reason": reason})
        assert response.status_code == 200 and message in _page(response), reason
    valid.refresh_from_db()
    assert valid.revoked_at is None and not AuditEntry.objects.filter(
        action="learning.certificate.revoked").exists()

    response = client.post(url, {"reason": "考试作弊"})
    assert response.status_code == 302 and response["Location"] == f"{LIST}inspect/{valid.pk}/"
    valid.refresh_from_db()
    assert valid.revoked_at is not None and valid.revoked_by == staff and valid.revoke_reason == "考试作弊"
    entry = AuditEntry.objects.get(action="learning.certificate.revoked", object_id=str(valid.pk))
    assert entry.reason == "考试作弊" and entry.actor_id == staff.pk
    detail = _page(client.get(f"{LIST}inspect/{valid.pk}/"))
    assert "已撤销" in detail and 'data-testid="certificate-revoke"' not in detail

    public = Client(headers=ZH).get(f"/learning/verify/{valid.code}/")
    assert public.status_code == 200
    assert 'data-status="revoked"' in _page(public) and "此证书已被撤销" in _page(public)

    # Revoking again is refused with the service's message and writes no second entry.
    again = client.post(url, {"reason": "重复"})
    assert again.status_code == 200 and "已被撤销" in _page(again)
    assert AuditEntry.objects.filter(action="learning.certificate.revoked").count() == 1
