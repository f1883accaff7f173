"""Certificates: issued on completing a course and a curriculum (once per round, also when completions race),
expiry, revocation (reason, audit, capability), renewal reminders that start the recertification round, and the
PDF's text read back."""

import io
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from pdfminer.high_level import extract_text

from engage.audit.models import AuditEntry
from engage.core.errors import DomainError
from engage.inbox.models import Notification
from learning.assignments.models import AssignmentAudience, DueRule, RepAssignment
from learning.assignments.services import assignment_create
from learning.certificates.exporters import certificate_pdf
from learning.certificates.models import Certificate, CertificateStatus
from learning.certificates.services import add_months, certificate_renewals_remind, certificate_revoke
from learning.courses.models import CoursePage
from tests.factories import user_with_role
from tests.learning.quals import certify, make_course, make_curriculum, make_rep

pytestmark = pytest.mark.django_db


def test_completing_a_course_issues_a_certificate_valid_for_a_year():
    rep, course = make_rep(), make_course(lessons=0)
    [certificate] = certify(rep, course)
    assert certificate.course == course and certificate.curriculum is None
    assert certificate.status == CertificateStatus.VALID
    assert certificate.expires_at == add_months(certificate.issued_at, 12)
    assert certificate.holder_name == rep.display_name
    assert len(certificate.code) >= 24
    assert Notification.objects.filter(user=rep, kind="learning.certificate").count() == 1
    assert AuditEntry.objects.filter(action="learning.certificate.issued", object_id=str(certificate.pk)).exists()


def test_a_second_completion_while_current_issues_nothing_new():
    rep, course = make_rep(), make_course(lessons=0)
    certify(rep, course)
    assert certify(rep, course) == []
    assert Certificate.objects.filter(user=rep).count() == 1


def test_the_curriculum_certificate_comes_with_its_last_course():
    rep = make_rep()
    first, second = make_course(lessons=0), make_course(lessons=0)
    curriculum = make_curriculum(courses=[first, second], validity_months=24)
    assert [c.course for c in certify(rep, first)] == [first]
    issued = certify(rep, second)
    assert {(c.course_id, c.curriculum_id) for c in issued} == {(second.pk, None), (None, curriculum.pk)}
    cert = Certificate.objects.get(user=rep, curriculum=curriculum)
    assert cert.expires_at == add_months(cert.issued_at, 24)


def test_an_expired_course_certificate_does_not_count_for_the_curriculum():
    rep = make_rep()
    first, second = make_course(lessons=0), make_course(lessons=0)
    curriculum = make_curriculum(courses=[first, second])
    with time_machine.travel(timezone.now() - timedelta(days=400)):
        certify(rep, first)
    certify(rep, second)
    assert not Certificate.objects.filter(user=rep, curriculum=curriculum).exists()


def test_add_months_keeps_the_end_of_month():
    from datetime import datetime

    assert add_months(datetime(2026, 1, 31), 1) == datetime(2026, 2, 28)
    assert add_months(datetime(2026, 11, 15), 14) == datetime(2028, 1, 15)


def test_revocation_needs_the_capability_and_a_reason_and_is_audited():
    rep, course = make_rep(), make_course(lessons=0)
    [certificate] = certify(rep, course)
    marketing, compliance = user_with_role("marketing"), user_with_role("compliance")
    with pytest.raises(DomainError) as refused:
        certificate_revoke(certificate_id=certificate.pk, actor=marketing, reason="作弊")
    assert refused.value.code == "forbidden"
    with pytest.raises(DomainError) as refused:
        certificate_revoke(certificate_id=certificate.pk, actor=compliance, reason="   ")
    assert refused.value.code == "reason_required"
    with pytest.raises(DomainError) as refused:
        certificate_revoke(certificate_id=certificate.pk, actor=compliance, reason="长" * 301)
    assert refused.value.code == "reason_too_long"
    certificate.refresh_from_db()
    assert certificate.revoked_at is None
    certificate_revoke(certificate_id=certificate.pk, actor=compliance, reason="考试作弊")
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.REVOKED and certificate.revoke_reason == "考试作弊"
    entry = AuditEntry.objects.get(action="learning.certificate.revoked")
    assert entry.reason == "考试作弊" and entry.actor_id == compliance.pk
    with pytest.raises(DomainError) as refused:
        certificate_revoke(certificate_id=certificate.pk, actor=compliance, reason="again")
    assert refused.value.code == "already_revoked"
    with pytest.raises(DomainError) as refused:
        certificate_revoke(certificate_id=999999, actor=compliance, reason="x")
    assert refused.value.code == "certificate_not_found"


def test_a_revoked_certificate_no_longer_blocks_a_new_one():
    rep, course = make_rep(), make_course(lessons=0)
    [first] = certify(rep, course)
    certificate_revoke(certificate_id=first.pk, actor=user_with_role("compliance"), reason="重考")
    [second] = certify(rep, course)
    assert second.pk != first.pk and second.status == CertificateStatus.VALID


def test_renewal_reminder_30_days_before_expiry_starts_the_recertification_round_once():
    rep, course = make_rep(), make_course(lessons=0)
    staff = user_with_role("marketing")
    assignment = assignment_create(actor=staff, course=course, audience=AssignmentAudience.PEOPLE, people=[rep],
                                   due_rule=DueRule.AFTER_ASSIGNMENT, due_days=30, recurrence_months=12)
    [certificate] = certify(rep, course)
    first = RepAssignment.objects.get(assignment=assignment, rep=rep)
    assert first.completed_at is not None and first.certificate == certificate
    assert certificate_renewals_remind(now=certificate.expires_at - timedelta(days=31)) == 0
    later = certificate.expires_at - timedelta(days=29)
    assert certificate_renewals_remind(now=later) == 1
    assert certificate_renewals_remind(now=later) == 0
    second = RepAssignment.objects.get(assignment=assignment, rep=rep, cycle=2)
    assert second.due_at == certificate.expires_at and second.completed_at is None
    assert Notification.objects.filter(user=rep, title__contains="").filter(
        key=f"learning.certificate:{certificate.pk}:renewal").count() == 1
    # Passing again inside the renewal window issues the next certificate and completes round two.
    with time_machine.travel(later + timedelta(days=1)):
        [renewed] = certify(rep, course)
    second.refresh_from_db()
    assert second.certificate == renewed and renewed.expires_at > certificate.expires_at


def test_the_pdf_says_who_what_when_in_chinese():
    rep = make_rep(display_name="张小明")
    course = make_course(lessons=0)
    CoursePage.objects.filter(pk=course.pk).update(title="二甲双胍产品知识")
    course.refresh_from_db()
    [certificate] = certify(rep, course)
    pdf = certificate_pdf(certificate, verify_url=f"https://engage.example/learning/verify/{certificate.code}/")
    assert pdf.startswith(b"%PDF")
    text = extract_text(io.BytesIO(pdf))
    assert "张小明" in text.replace(" ", "")
    assert "二甲双胍产品知识" in text
    assert timezone.localtime(certificate.issued_at).strftime("%Y-%m-%d") in text
    assert timezone.localtime(certificate.expires_at).strftime("%Y-%m-%d") in text
    assert certificate.code in text
