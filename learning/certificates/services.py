"""Writes of certificates: issue on completing a course or a curriculum, revoke with a reason, renewal reminders.

Issuing is idempotent per round: while the holder's certificate for the same course or curriculum is current and
not yet due for renewal (30 days before expiry) the existing one is returned. The holder's user row is locked
first, so two completions arriving at once issue one certificate.
"""

import calendar
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from engage.audit.services import audit_log
from engage.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from engage.core.roles import Capability, can
from learning.assignments.models import Curriculum
from learning.assignments.services import assignments_complete, assignments_recertify
from learning.certificates.models import Certificate
from learning.certificates.selectors import current_certificate, holds_current_course_certificates
from learning.courses.models import CoursePage
from members.consents.delivery import doctor_notify
from members.teams.selectors import person_name

RENEWAL_DAYS = 30
CODE_BYTES = 18  # 24 URL-safe characters
MAX_REASON = 300


def add_months(when: datetime, months: int) -> datetime:
    """`when` plus `months` calendar months (the 31st becomes the month's last day)."""
    month_index = when.month - 1 + months
    year, month = when.year + month_index // 12, month_index % 12 + 1
    return when.replace(year=year, month=month, day=min(when.day, calendar.monthrange(year, month)[1]))


def course_validity_months() -> int:
    return int(getattr(settings, "LEARNING_CERTIFICATE_MONTHS", 12))


def _holder_name(user) -> str:
    return person_name(user)[:150]


def _renewal_due(certificate: Certificate, now: datetime) -> bool:
    return certificate.expires_at - now <= timedelta(days=RENEWAL_DAYS)


def _issue(*, user, course: CoursePage | None = None, curriculum: Curriculum | None = None,
           now: datetime) -> tuple[Certificate, bool]:
    existing = current_certificate(user=user, course=course, curriculum=curriculum, now=now)
    if existing is not None and not _renewal_due(existing, now):
        return existing, False
    months = curriculum.validity_months if curriculum is not None else course_validity_months()
    certificate = Certificate.objects.create(
        user=user, course=course, curriculum=curriculum, title=(course or curriculum).title[:255],
        holder_name=_holder_name(user), code=secrets.token_urlsafe(CODE_BYTES), issued_at=now,
        expires_at=add_months(now, months),
    )
    audit_log(actor=None, action="learning.certificate.issued", obj=certificate,
              after={"user": user.pk, "course": getattr(course, "pk", None),
                     "curriculum": getattr(curriculum, "pk", None), "expires_at": certificate.expires_at.isoformat()})
    assignments_complete(certificate_id=certificate.pk)
    doctor_notify(user=user, kind="learning.certificate", title=_("Certificate issued"),
                  body=_("You hold the certificate “%(title)s”.") % {"title": certificate.title},
                  url=reverse("learning:certificate", args=[certificate.pk]),
                  key=f"learning.certificate:{certificate.pk}:issued")
    return certificate, True


@transaction.atomic
def certificates_on_course_completed(*, user, course: CoursePage) -> list[Certificate]:
    """Called (on commit) when `user` completed `course`: issues the course certificate, then the certificate of
    every curriculum whose courses the user now all holds current certificates for. Returns the certificates
    issued now (empty when a current one already existed)."""
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    course = CoursePage.objects.filter(pk=course.pk).first()
    if course is None:
        raise NotFound("course_not_found", _("No such course."))
    now = timezone.now()
    issued = []
    certificate, created = _issue(user=user, course=course, now=now)
    if created:
        issued.append(certificate)
    for curriculum in Curriculum.objects.filter(items__course=course).distinct():
        course_ids = list(curriculum.items.values_list("course_id", flat=True))
        if holds_current_course_certificates(user=user, course_ids=course_ids, now=now):
            certificate, created = _issue(user=user, curriculum=curriculum, now=now)
            if created:
                issued.append(certificate)
    return issued


@transaction.atomic
def certificate_revoke(*, certificate_id: int, actor, reason: str) -> Certificate:
    """Revokes a certificate at once (qualification lapses with it). Needs REVOKE_CERTIFICATES and a reason
    (400 `reason_required`); 409 `already_revoked`. Audited; the holder is told."""
    if not can(actor, Capability.REVOKE_CERTIFICATES):
        raise PermissionDenied("forbidden", _("You may not revoke certificates."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("reason_required", _("Say why the certificate is revoked."))
    if len(reason) > MAX_REASON:
        raise DomainError("reason_too_long", _("The reason may be at most %(n)d characters.") % {"n": MAX_REASON})
    certificate = Certificate.objects.select_for_update().filter(pk=certificate_id).first()
    if certificate is None:
        raise NotFound("certificate_not_found", _("No such certificate."))
    if certificate.revoked_at is not None:
        raise Conflict("already_revoked", _("This certificate is already revoked."))
    certificate.revoked_at = timezone.now()
    certificate.revoked_by = actor
    certificate.revoke_reason = reason
    certificate.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    audit_log(actor=actor, action="learning.certificate.revoked", obj=certificate, before={"status": "valid"},
              after={"status": "revoked"}, reason=reason)
    doctor_notify(user=certificate.user, kind="learning.certificate", title=_("Certificate revoked"),
                  body=_("Your certificate “%(title)s” was revoked: %(reason)s")
                  % {"title": certificate.title, "reason": reason},
                  url=reverse("learning:certificate", args=[certificate.pk]),
                  key=f"learning.certificate:{certificate.pk}:revoked")
    return certificate


def certificate_renewals_remind(*, now: datetime | None = None) -> int:
    """Beat, daily: each current certificate expiring within 30 days gets one reminder to its holder, and the
    recurring assignments it completed start their next round (due at the expiry). Returns reminders sent."""
    now = now or timezone.now()
    sent = 0
    due = Certificate.objects.filter(revoked_at__isnull=True, renewal_reminded_at__isnull=True,
                                     expires_at__gt=now, expires_at__lte=now + timedelta(days=RENEWAL_DAYS))
    for certificate_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            certificate = Certificate.objects.select_for_update(skip_locked=True).filter(
                pk=certificate_id, renewal_reminded_at__isnull=True).select_related("user").first()
            if certificate is None:
                continue
            certificate.renewal_reminded_at = now
            certificate.save(update_fields=["renewal_reminded_at"])
            assignments_recertify(certificate=certificate, now=now)
            doctor_notify(user=certificate.user, kind="learning.certificate", title=_("Certificate expires soon"),
                          body=_("Your certificate “%(title)s” expires on %(date)s: take the course again to renew "
                                 "it.") % {"title": certificate.title,
                                           "date": timezone.localtime(certificate.expires_at).date().isoformat()},
                          url=reverse("learning:assignments_mine"),
                          key=f"learning.certificate:{certificate.pk}:renewal")
            sent += 1
    return sent
