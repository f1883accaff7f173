"""Hospitals, departments and therapy areas (master data), hospital imports, and sales territories."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from engage.core.storage import private_storage
from members.hospitals.pinyin import initials


class Hospital(models.Model):
    """Master data: a hospital doctors work at."""

    class Level(models.TextChoices):
        TERTIARY = "3", _("Tertiary (三级)")
        SECONDARY = "2", _("Secondary (二级)")
        PRIMARY = "1", _("Primary (一级)")
        UNRATED = "0", _("Unrated")

    class Grade(models.TextChoices):
        A = "甲", _("Grade A (甲等)")
        B = "乙", _("Grade B (乙等)")
        C = "丙", _("Grade C (丙等)")
        NONE = "", _("No grade")

    class Type(models.TextChoices):
        GENERAL = "general", _("General hospital")
        SPECIALIST = "specialist", _("Specialist hospital")
        TCM = "tcm", _("Traditional Chinese medicine hospital")
        COMMUNITY = "community", _("Community health centre")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PROPOSED = "proposed", _("Proposed, waiting for approval")
        REJECTED = "rejected", _("Rejected")

    name = models.CharField(_("name"), max_length=200)
    normalised_name = models.CharField(max_length=200, editable=False)
    aliases = models.JSONField(_("aliases"), default=list, blank=True)
    province = models.CharField(_("province"), max_length=50)
    city = models.CharField(_("city"), max_length=50)
    district = models.CharField(_("district"), max_length=50, blank=True)
    level = models.CharField(_("level"), max_length=1, choices=Level.choices, default=Level.UNRATED)
    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices, blank=True, default="")
    hospital_type = models.CharField(_("type"), max_length=20, choices=Type.choices, default=Type.GENERAL)
    beds = models.PositiveIntegerField(_("beds"), null=True, blank=True)
    yearly_outpatient_visits = models.PositiveIntegerField(_("yearly outpatient visits"), null=True, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    departments = models.ManyToManyField("Department", blank=True, related_name="hospitals")
    pinyin_initials = models.CharField(
        _("pinyin initials"), max_length=100, blank=True, db_index=True, editable=False,
        help_text=_("E.g. BJXHYY for 北京协和医院; filled in on save for search."),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE,
                              db_index=True)
    proposed_by = models.ForeignKey(
        "members.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="proposed_hospitals",
        verbose_name=_("proposed by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("hospital")
        verbose_name_plural = _("hospitals")
        ordering = ["province", "city", "name"]
        constraints = [
            models.UniqueConstraint(fields=["normalised_name", "city"], name="hospital_unique_name_city"),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.normalised_name = self.normalise(self.name)
        self.pinyin_initials = initials(self.name)
        super().save(*args, **kwargs)

    @property
    def level_grade(self) -> str:
        """E.g. 三级甲等."""
        names = {"3": "三级", "2": "二级", "1": "一级"}
        if self.level not in names:
            return ""
        return names[self.level] + (f"{self.grade}等" if self.grade else "")

    @staticmethod
    def normalise(name: str) -> str:
        return "".join(name.split()).replace("（", "(").replace("）", ")").lower()


class Department(models.Model):
    """A department from the standard list (内分泌科, 心内科 …)."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100, unique=True)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["name"]

    def __str__(self):
        return self.name


class TherapyArea(models.Model):
    """糖尿病, 心血管, 肿瘤 …: doctors' specialties, segments and content are per therapy area."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100, unique=True)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("therapy area")
        verbose_name_plural = _("therapy areas")
        ordering = ["name"]

    def __str__(self):
        return self.name


class HospitalImport(models.Model):
    """One upload of hospital master data: previewed, validated row by row, then imported all or nothing."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        VALIDATING = "validating", _("Validating")
        INVALID = "invalid", _("Has errors")
        VALID = "valid", _("Ready to import")
        IMPORTING = "importing", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")

    file = models.FileField(_("file"), upload_to="imports/hospitals/%Y/%m/", storage=private_storage)
    original_name = models.CharField(_("file name"), max_length=255)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.UPLOADED)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows processed"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True,
                              help_text=_("[{line, column, reason}] for every bad row."))
    preview = models.JSONField(_("preview"), default=list, blank=True)
    created_by = models.ForeignKey("members.User", null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("hospital import")
        verbose_name_plural = _("hospital imports")
        ordering = ["-created_at"]

    def __str__(self):
        return self.original_name

    @property
    def progress_percent(self) -> int:
        return int(100 * self.processed_rows / self.total_rows) if self.total_rows else 0


class Territory(models.Model):
    """A sales territory: which reps cover which hospitals. Reps see only their territories' doctors."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    reps = models.ManyToManyField("members.User", blank=True, related_name="territories", verbose_name=_("reps"))
    hospitals = models.ManyToManyField("members.Hospital", blank=True, related_name="territories",
                                       verbose_name=_("hospitals"))

    class Meta:
        verbose_name = _("territory")
        verbose_name_plural = _("territories")
        ordering = ["name"]

    def __str__(self):
        return self.name
