"""The in-app inbox. The model keeps the `core` app label it was created under (engage/core/migrations)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """A message to a signed-in person in the portal's inbox (meeting confirmations, reminders, warnings).

    `key` makes a repeated send of the same notice harmless (e.g. a reminder task that runs twice).
    Delivery over WeChat or SMS is the messaging gateway's job; this row is the in-app record.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications",
                             verbose_name=_("user"))
    kind = models.CharField(_("kind"), max_length=50, db_index=True)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    wagtail_reference_index_ignore = True  # operational rows, not content: no reference-index work per save

    class Meta:
        app_label = "core"
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread_idx")]

    def __str__(self):
        return self.title
