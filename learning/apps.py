from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LearningConfig(AppConfig):
    name = "learning"
    verbose_name = _("E-learning")

    def ready(self):
        # AppConfig.ready: the selectors import models, which exist only once the registry is ready.
        from engage.core.qualification import register_checker  # AppConfig.ready, as above
        from learning.certificates.selectors import applies_to, qualification_missing  # AppConfig.ready, as above

        # product qualification for events and cms (engage.core)
        register_checker(qualification_missing, applies=applies_to)
