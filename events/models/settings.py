"""Site-wide settings of the meetings module, edited in the Wagtail admin (Settings → Meeting settings)."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.contrib.settings.models import BaseGenericSetting


class EventSettings(BaseGenericSetting):
    academic_minutes_floor = models.PositiveSmallIntegerField(
        _("academic minutes floor (%)"), default=60, validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("Reviewers see a warning when a meeting's academic agenda items take a smaller share of the "
                    "agenda's minutes."),
    )

    class Meta:
        verbose_name = _("meeting settings")

    @classmethod
    def academic_floor(cls) -> int:
        """The configured floor in percent (the default when the settings row does not exist yet)."""
        value = cls.objects.values_list("academic_minutes_floor", flat=True).first()
        return cls._meta.get_field("academic_minutes_floor").default if value is None else value
