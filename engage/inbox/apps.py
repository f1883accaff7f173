from django.apps import AppConfig


class InboxConfig(AppConfig):
    """The in-app inbox. Its one model, Notification, keeps the `core` label it was created under."""

    name = "engage.inbox"
    label = "inbox"
    verbose_name = "Engage inbox"
