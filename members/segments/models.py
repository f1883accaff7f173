from django.db import models
from django.utils.translation import gettext_lazy as _

BIG_FIVE_CITIES = ("北京市", "上海市", "广州市", "南京市", "杭州市")


class Potential(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"


class Support(models.TextChoices):
    HIGH = "1", "1"
    MEDIUM = "2", "2"
    LOW = "3", "3"


class KolTier(models.TextChoices):
    NONE = "none", _("None")
    LOCAL = "local", _("Local")
    REGIONAL = "regional", _("Regional")
    NATIONAL = "national", _("National")


class SegmentationConfig(models.Model):
    """Staff-configurable thresholds and weights. One row per therapy area; none involves prescriptions.

    `potential_thresholds`: {"big5": {"A": {"beds_in_charge": 40, "weekly_outpatients": 300,
    "weekly_target_patients": 60}, "B": {...}}, "other": {...}} — any one indicator meeting a grade's
    threshold is enough. `support_weights`: points per engagement kind; `support_cutoffs`: {"1": 60, "2": 20}.
    """

    therapy_area = models.OneToOneField("members.TherapyArea", on_delete=models.CASCADE,
                                        related_name="segmentation_config")
    potential_thresholds = models.JSONField(_("potential thresholds"), default=dict)
    support_weights = models.JSONField(_("support weights"), default=dict)
    support_cutoffs = models.JSONField(_("support cut-offs"), default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("segmentation settings")
        verbose_name_plural = _("segmentation settings")

    def __str__(self):
        return str(self.therapy_area)


class DoctorIndicators(models.Model):
    """What a doctor's practice looks like in one therapy area (entered by staff, never prescription data)."""

    doctor = models.ForeignKey("members.User", on_delete=models.CASCADE, related_name="indicators")
    therapy_area = models.ForeignKey("members.TherapyArea", on_delete=models.CASCADE, related_name="+")
    beds_in_charge = models.PositiveIntegerField(_("beds in charge"), default=0)
    weekly_outpatients = models.PositiveIntegerField(_("weekly outpatient visits"), default=0)
    weekly_target_patients = models.PositiveIntegerField(_("weekly target patients"), default=0)
    kol_tier = models.CharField(_("KOL tier"), max_length=10, choices=KolTier.choices, default=KolTier.NONE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("doctor indicators")
        verbose_name_plural = _("doctor indicators")
        constraints = [models.UniqueConstraint(fields=["doctor", "therapy_area"], name="indicators_unique")]

    def __str__(self):
        return f"{self.doctor} / {self.therapy_area}"


class DoctorSegment(models.Model):
    """The current cell (A1 … C3) and KOL tier of a doctor in a therapy area."""

    doctor = models.ForeignKey("members.User", on_delete=models.CASCADE, related_name="segments")
    therapy_area = models.ForeignKey("members.TherapyArea", on_delete=models.CASCADE, related_name="segments")
    potential = models.CharField(_("potential"), max_length=1, choices=Potential.choices)
    support = models.CharField(_("support"), max_length=1, choices=Support.choices)
    kol_tier = models.CharField(_("KOL tier"), max_length=10, choices=KolTier.choices, default=KolTier.NONE)
    support_score = models.PositiveIntegerField(_("support score"), default=0)
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        verbose_name = _("doctor segment")
        verbose_name_plural = _("doctor segments")
        constraints = [models.UniqueConstraint(fields=["doctor", "therapy_area"], name="segment_unique")]
        indexes = [models.Index(fields=["therapy_area", "potential", "support"], name="segment_cell_idx")]

    def __str__(self):
        return f"{self.doctor} {self.therapy_area} {self.cell}"

    @property
    def cell(self) -> str:
        return f"{self.potential}{self.support}"


class SegmentChange(models.Model):
    """History: a row each time a doctor's cell or tier changes, so staff can see movement over time."""

    doctor = models.ForeignKey("members.User", on_delete=models.CASCADE, related_name="segment_changes")
    therapy_area = models.ForeignKey("members.TherapyArea", on_delete=models.CASCADE, related_name="+")
    from_cell = models.CharField(max_length=2, blank=True)
    to_cell = models.CharField(max_length=2)
    kol_tier = models.CharField(max_length=10, choices=KolTier.choices, default=KolTier.NONE)
    changed_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("segment change")
        verbose_name_plural = _("segment changes")
        ordering = ["-changed_at", "-id"]

    def __str__(self):
        return f"{self.doctor} {self.from_cell or '-'} → {self.to_cell}"
