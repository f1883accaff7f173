from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "engage.core"
    label = "core"
    verbose_name = "Engage core"
