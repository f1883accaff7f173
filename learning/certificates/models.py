"""Certificates: issued when a rep completes a course or a curriculum; valid until they expire or are revoked.
The code printed as a QR is an unguessable secret resolved by the public verification page."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CertificateStatus(models.TextChoices):
    VALID = "valid", _("Valid")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")


class Certificate(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="learning_certificates",
                             verbose_name=_("holder"))
    course = models.ForeignKey("learning.CoursePage", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="certificates", verbose_name=_("course"))
    curriculum = models.ForeignKey("learning.Curriculum", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="certificates", verbose_name=_("curriculum"))
    title = models.CharField(_("title"), max_length=255)  # the course or curriculum title when issued
    holder_name = models.CharField(_("name"), max_length=150)  # as printed
    code = models.CharField(_("verification code"), max_length=40, unique=True)
    issued_at = models.DateTimeField(_("issued"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), db_index=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    revoke_reason = models.CharField(_("reason"), max_length=300, blank=True)
    renewal_reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        ordering = ["-issued_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(course__isnull=False, curriculum__isnull=True)
                           | Q(course__isnull=True, curriculum__isnull=False)),
                name="certificate_course_xor_curriculum"),
        ]
        indexes = [models.Index(fields=["user", "curriculum", "expires_at"], name="certificate_current_idx")]

    def __str__(self):
        return f"{self.title} · {self.holder_name}"

    def status_at(self, when=None) -> str:
        if self.revoked_at is not None:
            return CertificateStatus.REVOKED
        return CertificateStatus.VALID if self.expires_at > (when or timezone.now()) else CertificateStatus.EXPIRED

    @property
    def status(self) -> str:
        return self.status_at()
