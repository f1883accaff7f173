from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

from engage.audit.labels import action_label, object_type_label
from engage.core.append_only import AppendOnlyError, AppendOnlyModel
from engage.core.times import local_text

__all__ = ["AppendOnlyError", "AuditEntry"]


class AuditEntry(AppendOnlyModel):
    """One compliance-relevant write: who did what to which object, when, from where, and why.

    Append-only: the model refuses updates and deletes, and on PostgreSQL a trigger refuses them too.
    The actor is kept as id and label so the entry outlives the account.
    """

    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor_id = models.BigIntegerField(_("actor id"), null=True, blank=True, db_index=True)
    actor_label = models.CharField(_("actor"), max_length=200, blank=True)
    action = models.CharField(_("action"), max_length=100, db_index=True)
    object_type = models.CharField(_("object type"), max_length=100, blank=True, db_index=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=300, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(_("after"), null=True, blank=True, encoder=DjangoJSONEncoder)
    reason = models.TextField(_("reason"), blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=400, blank=True)

    wagtail_reference_index_ignore = True  # operational rows, not content: no reference-index work per save

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self):
        return (f"{local_text(self.created_at, 'Y-m-d H:i:s')} {self.get_actor_label_display() or '-'} "
                f"{self.get_action_display()}")

    def get_actor_label_display(self) -> str:
        return self.actor_label if self.actor_id or self.actor_label != "system" else str(_("system"))

    def get_action_display(self) -> str:
        return action_label(self.action)

    def get_object_type_display(self) -> str:
        return object_type_label(self.object_type)
