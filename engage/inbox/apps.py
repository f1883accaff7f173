from django.apps import AppConfig


class InboxConfig(AppConfig):
    """The in-app inbox. Its one model, Notification, keeps the `core` label it was created under."""

    name = "engage.inbox"
    label = "inbox"
    verbose_name = "Engage inbox"

    def ready(self):
        from engage.core.preload import register_user_preload  # ready(): modules load after the registry
        from engage.inbox.selectors import remember_unread_count, unread_count_expression  # as above

        register_user_preload("unread", expression=unread_count_expression, remember=remember_unread_count)
