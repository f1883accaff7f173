from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class EngageUserManager(UserManager):
    def _create_user(self, username, email, password, **extra_fields):
        email = self.normalize_email(email) or None
        return super()._create_user(username, email, password, **extra_fields)


class User(AbstractUser):
    """Everyone who signs in: doctors, reps and staff. Identified by mobile number, email, or both."""

    email = models.EmailField(_("email address"), unique=True, null=True, blank=True)
    mobile = models.CharField(
        _("mobile number"),
        max_length=20,
        unique=True,
        null=True,
        blank=True,
        help_text=_("In international format, e.g. +8613800138000."),
    )
    mobile_verified = models.BooleanField(_("mobile number verified"), default=False)
    display_name = models.CharField(_("name"), max_length=100, blank=True)
    language = models.CharField(
        _("language"), max_length=10, choices=[("zh-hans", "简体中文"), ("en", "English")], default="zh-hans"
    )

    objects = EngageUserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=Q(mobile__isnull=False) | Q(email__isnull=False),
                name="user_has_mobile_or_email",
                violation_error_message=_("A user needs a mobile number or an email address."),
            ),
        ]

    def save(self, *args, **kwargs):
        # Empty strings would collide under the unique constraints; "no value" is NULL.
        self.email = self.email or None
        self.mobile = self.mobile or None
        super().save(*args, **kwargs)

    def __str__(self):
        return self.display_name or self.get_full_name() or self.mobile or self.email or self.username

    @property
    def name(self) -> str:
        return self.display_name or self.get_full_name() or ""


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

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="doctor_profile")
    real_name = models.CharField(_("real name"), max_length=50)
    gender = models.CharField(_("gender"), max_length=12, choices=Gender.choices, default=Gender.UNDISCLOSED)
    hospital = models.ForeignKey(
        Hospital, on_delete=models.PROTECT, related_name="doctors", verbose_name=_("hospital")
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="doctors", verbose_name=_("department")
    )
    title = models.CharField(_("professional title"), max_length=20, choices=Title.choices)
    licence_number = models.CharField(_("practising licence number"), max_length=27, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("doctor profile")
        verbose_name_plural = _("doctor profiles")

    def __str__(self):
        return self.real_name
