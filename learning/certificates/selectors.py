"""Reads of certificates: the current one for a course or curriculum, who may see one, the public verification,
and the product-qualification checker registered with engage.core.qualification."""

from datetime import datetime

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from engage.core.errors import NotFound
from engage.core.qualification import Missing
from engage.core.roles import Capability, can
from learning.assignments.models import ProductRequirement
from learning.certificates.models import Certificate, CertificateStatus
from members.teams.selectors import can_view_rep_learning


def _current(qs: QuerySet, now: datetime | None = None) -> QuerySet:
    return qs.filter(revoked_at__isnull=True, expires_at__gt=now or timezone.now())


def current_certificate(*, user, course=None, curriculum=None, now: datetime | None = None) -> Certificate | None:
    """The holder's valid certificate for the course or curriculum that expires last, or None."""
    qs = Certificate.objects.filter(user=user)
    qs = qs.filter(course=course) if course is not None else qs.filter(curriculum=curriculum)
    return _current(qs, now).order_by("-expires_at").first()


def holds_current_course_certificates(*, user, course_ids: list[int], now: datetime | None = None) -> bool:
    if not course_ids:
        return False
    held = set(_current(Certificate.objects.filter(user=user, course_id__in=course_ids), now)
               .values_list("course_id", flat=True))
    return held >= set(course_ids)


def certificates_of(*, user) -> QuerySet:
    return Certificate.objects.filter(user=user).select_related("course", "curriculum").order_by("-issued_at")


def access_certificate(*, user, certificate_id: int) -> Certificate:
    """The certificate for its holder, their manager and training staff; NotFound for anyone else."""
    certificate = Certificate.objects.select_related("user", "course", "curriculum").filter(
        pk=certificate_id).first()
    if certificate is None or not (can_view_rep_learning(user, certificate.user)
                                   or can(user, Capability.REVOKE_CERTIFICATES)):
        raise NotFound("certificate_not_found", _("No such certificate."))
    return certificate


def can_view_all_certificates(user) -> bool:
    """Training and compliance staff: the certificates list of every rep in the admin."""
    return can(user, Capability.VIEW_LEARNING_REPORTS)


def can_revoke_certificates(user) -> bool:
    """Compliance: revoking a certificate (certificate_revoke checks the same capability)."""
    return can(user, Capability.REVOKE_CERTIFICATES)


def can_revoke_certificate(user, certificate: Certificate) -> bool:
    """Whether `user` is offered revocation of `certificate`: it is not revoked yet and they may revoke."""
    return certificate.revoked_at is None and can_revoke_certificates(user)


def certificates_in_status(qs: QuerySet, status: str, now: datetime | None = None) -> QuerySet:
    """`qs` narrowed to valid, expired or revoked certificates (anything else: unchanged)."""
    now = now or timezone.now()
    if status == CertificateStatus.REVOKED:
        return qs.filter(revoked_at__isnull=False)
    if status == CertificateStatus.VALID:
        return _current(qs, now)
    if status == CertificateStatus.EXPIRED:
        return qs.filter(revoked_at__isnull=True, expires_at__lte=now)
    return qs


def certificates_for_product(qs: QuerySet, product) -> QuerySet:
    """`qs` narrowed to certificates about `product`: of its courses, of the curriculum it requires and of that
    curriculum's courses, and of curricula holding one of its courses."""
    return qs.filter(Q(course__product=product) | Q(curriculum__required_for__product=product)
                     | Q(course__curriculum_items__curriculum__required_for__product=product)
                     | Q(curriculum__items__course__product=product)).distinct()


def certificate_by_code(*, code: str) -> Certificate:
    """The public verification: NotFound for an unknown or malformed code."""
    code = code.strip() if isinstance(code, str) else ""
    if not code or len(code) > 40:
        raise NotFound("certificate_not_found", _("No certificate has this code."))
    certificate = Certificate.objects.filter(code=code).first()
    if certificate is None:
        raise NotFound("certificate_not_found", _("No certificate has this code."))
    return certificate


def applies_to(user) -> bool:
    """Qualification binds the people who promote products: reps (not staff, not the platform superuser)."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and not user.is_superuser
                and can(user, Capability.COVER_TERRITORY))


def qualification_missing(user, product_ids: list[int] | None) -> list[Missing]:
    """engage.core.qualification's checker: the required products among `product_ids` (all when None) the rep
    holds no current curriculum certificate for. Read fresh every time, so revocation and expiry take effect at
    once."""
    if not applies_to(user):
        return []
    requirements = ProductRequirement.objects.select_related("product", "curriculum").order_by("product__name")
    if product_ids is not None:
        requirements = requirements.filter(product_id__in=product_ids)
    requirements = list(requirements)
    if not requirements:
        return []
    held = set(_current(Certificate.objects.filter(
        user=user, curriculum_id__in=[r.curriculum_id for r in requirements])).values_list("curriculum_id", flat=True))
    return [Missing(product_id=r.product_id, product=r.product.name, course_title=r.curriculum.title,
                    course_url=reverse("learning:curriculum", args=[r.curriculum_id]))
            for r in requirements if r.curriculum_id not in held]
