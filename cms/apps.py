from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CmsConfig(AppConfig):
    name = "cms"
    verbose_name = _("Academic content")

    def ready(self):
        from cms.pages import signals  # ready(): app modules load after the registry

        signals.connect()
