from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CmsConfig(AppConfig):
    name = "cms"
    verbose_name = _("Academic content")

    def ready(self):
        from cms.pages import signals  # ready(): app modules load after the registry

        signals.connect()

        from cms.reading.selectors import remember_share_code, share_code_expression  # as above
        from engage.core.preload import register_user_preload  # as above

        register_user_preload("share_code", expression=share_code_expression, remember=remember_share_code)
