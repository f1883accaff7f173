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
