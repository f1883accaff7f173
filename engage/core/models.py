"""Platform rows of the core app. (The inbox's Notification also carries the `core` label: engage/inbox/models.py.)"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DeferredTask(models.Model):
    """A task not handed to the broker yet, sent by `engage.core.jobs.deferred_tasks_resend`: one that could not
    be sent after its transaction committed (`error` says why), or one written in the outbox by the statement
    that owes it (`error` empty)."""

    name = models.CharField(_("task"), max_length=200)
    args = models.JSONField(_("arguments"), default=list)
    kwargs = models.JSONField(_("keyword arguments"), default=dict)
    error = models.CharField(_("error"), max_length=500, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    wagtail_reference_index_ignore = True

    class Meta:
        verbose_name = _("deferred task")
        verbose_name_plural = _("deferred tasks")

    def __str__(self):
        return self.name
