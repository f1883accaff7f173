from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = _("Meetings and live sessions")

    def ready(self):
        from events.registrations import (
            signals as signals_registrations,  # ready(): app modules load after the registry
        )

        signals_registrations.connect()
