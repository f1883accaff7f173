from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "engage.core"
    label = "core"
    verbose_name = "Engage core"

    def ready(self):
        from engage.core.preload import register_user_preload  # ready(): modules load after the registry
        from engage.core.roles import remember_roles_mask, roles_mask_expression  # as above

        register_user_preload("roles", expression=roles_mask_expression, remember=remember_roles_mask)
