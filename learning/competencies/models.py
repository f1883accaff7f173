"""The history of a rep's capability profile: one snapshot per rep, competency (and product) and day, taken from
their graded exam answers (learning.exams AttemptQuestion) by the daily beat task."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CompetencySnapshot(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="competency_snapshots")
    kind = models.CharField(_("competency"), max_length=20)  # learning.questions.models.CompetencyKind
    product = models.ForeignKey("cms.Product", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    taken_on = models.DateField(_("date"))
    percent = models.DecimalField(_("score (%)"), max_digits=5, decimal_places=2)
    answered = models.PositiveIntegerField(_("questions answered"))

    class Meta:
        verbose_name = _("competency snapshot")
        verbose_name_plural = _("competency snapshots")
        ordering = ["taken_on"]
        # Two constraints rather than NULLS NOT DISTINCT, which SQLite (the embedded default) ignores: one row per
        # rep, competency, product and day, and one per rep, competency and day where there is no product.
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "product", "taken_on"],
                                    name="competencysnapshot_one_per_day"),
            models.UniqueConstraint(fields=["user", "kind", "taken_on"], condition=models.Q(product__isnull=True),
                                    name="competencysnapshot_one_per_day_no_product"),
        ]

    def __str__(self):
        return f"{self.user_id} · {self.kind} · {self.taken_on}: {self.percent}"
