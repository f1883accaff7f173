from django.db import models
from django.utils.translation import gettext_lazy as _

from engage.core.storage import private_storage


class DoctorProfile(models.Model):
    """A doctor member's professional profile. Verification and segmentation build on it."""

    class Title(models.TextChoices):
        CHIEF = "chief", _("Chief physician (主任医师)")
        ASSOCIATE_CHIEF = "associate_chief", _("Associate chief physician (副主任医师)")
        ATTENDING = "attending", _("Attending physician (主治医师)")
        RESIDENT = "resident", _("Resident physician (住院医师)")
        OTHER = "other", _("Other")

    class Gender(models.TextChoices):
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")
        UNDISCLOSED = "undisclosed", _("Prefer not to say")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending verification")
        VERIFIED = "verified", _("Verified")
        REJECTED = "rejected", _("Rejected")
        NEEDS_INFO = "needs_info", _("More information needed")

    user = models.OneToOneField("members.User", on_delete=models.CASCADE, related_name="doctor_profile")
    real_name = models.CharField(_("real name"), max_length=50)
    gender = models.CharField(_("gender"), max_length=12, choices=Gender.choices, default=Gender.UNDISCLOSED)
    hospital = models.ForeignKey(
        "members.Hospital", on_delete=models.PROTECT, related_name="doctors", verbose_name=_("hospital")
    )
    department = models.ForeignKey(
        "members.Department", on_delete=models.PROTECT, related_name="doctors", verbose_name=_("department")
    )
    title = models.CharField(_("professional title"), max_length=20, choices=Title.choices)
    specialties = models.ManyToManyField("members.TherapyArea", blank=True, related_name="doctors",
                                         verbose_name=_("specialties"))
    licence_number = models.CharField(_("practising licence number"), max_length=27, blank=True, db_index=True)
    certificate = models.FileField(
        _("practising certificate"), upload_to="certificates/%Y/%m/", storage=private_storage, blank=True
    )
    certificate_content_type = models.CharField(max_length=50, blank=True, editable=False)
    status = models.CharField(_("verification status"), max_length=12, choices=Status.choices,
                              default=Status.PENDING, db_index=True)
    status_reason = models.TextField(_("reason"), blank=True)
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    is_speaker = models.BooleanField(
        _("KOL / speaker"), default=False, help_text=_("Speakers and KOLs may see KOL-only content.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("doctor profile")
        verbose_name_plural = _("doctor profiles")
        indexes = [models.Index(fields=["status", "updated_at"], name="doctorprofile_queue_idx")]

    def __str__(self):
        return self.real_name

    @property
    def is_verified(self) -> bool:
        return self.status == self.Status.VERIFIED


class VerificationDecision(models.Model):
    """One step in a profile's verification history: who moved it from which state to which, and why."""

    profile = models.ForeignKey(DoctorProfile, on_delete=models.CASCADE, related_name="decisions")
    from_status = models.CharField(max_length=12, choices=DoctorProfile.Status.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=DoctorProfile.Status.choices)
    reason = models.TextField(_("reason"), blank=True)
    actor = models.ForeignKey("members.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("verification decision")
        verbose_name_plural = _("verification decisions")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.profile} {self.from_status} → {self.to_status}"
