from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RemindersConfig(AppConfig):
    name = "engage.reminders"
    label = "reminders"
    verbose_name = _("Medication reminders")

    def ready(self):
        from engage.messaging.inbound import register_inbound_handler
        from engage.messaging.outcomes import register_outcome_handler

        from .services_inbound import on_inbound, on_outcome
        from .templates import register_templates

        register_templates()
        register_inbound_handler(on_inbound)
        register_outcome_handler(on_outcome, many=True)
