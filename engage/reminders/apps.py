from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RemindersConfig(AppConfig):
    name = "engage.reminders"
    label = "reminders"
    verbose_name = _("Medication reminders")

    def ready(self):
        from engage.messaging.inbound import register_inbound_handler  # ready(): modules load after the registry
        from engage.messaging.outcomes import register_outcome_handler  # ready(): as above
        from engage.reminders.services import on_inbound, on_outcome  # ready(): as above
        from engage.reminders.templates import register_templates  # ready(): as above

        register_templates()
        register_inbound_handler(on_inbound)
        register_outcome_handler(on_outcome, many=True)
