from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RemindersConfig(AppConfig):
    name = "engage.reminders"
    label = "reminders"
    verbose_name = _("Medication reminders")
