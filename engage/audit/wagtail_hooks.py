import json

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.ui.tables import Column
from wagtail.permissions import register_permission_policy

from engage.audit.models import AuditEntry
from engage.core.policies import LocalInspectView, ReadOnlyModelViewSet, ReadOnlyPolicy
from engage.core.roles import Capability

register_permission_policy(AuditEntry, ReadOnlyPolicy(AuditEntry, Capability.VIEW_AUDIT_TRAIL))


class AuditEntryInspectView(LocalInspectView):
    """The entry's before/after data and user agent are technical evidence: shown as they were stored, as code."""

    def _as_code(self, value) -> str:
        if value in (None, "", {}):
            return "—"
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True,
                                                                 cls=DjangoJSONEncoder)
        return format_html("<pre>{}</pre>", text)

    def get_before_display_value(self):
        return self._as_code(self.object.before)

    def get_after_display_value(self):
        return self._as_code(self.object.after)

    def get_user_agent_display_value(self):
        return self._as_code(self.object.user_agent)


class AuditEntryViewSet(ReadOnlyModelViewSet):
    """The audit trail for compliance: read-only, filterable, exportable to Excel."""

    model = AuditEntry
    icon = "history"
    menu_label = _("Audit trail")
    menu_order = 900
    list_display = ["created_at", "actor_label",
                    Column("action", label=_("action"), accessor="get_action_display", sort_key="action"),
                    Column("object_type", label=_("object type"), accessor="get_object_type_display",
                           sort_key="object_type"),
                    "object_repr", "ip_address"]
    list_filter = {"action": ["exact"], "object_type": ["exact"], "created_at": ["gte", "lte"],
                   "actor_id": ["exact"]}
    search_fields = ["actor_label", "action", "object_repr", "reason"]
    list_export = ["created_at", "actor_id", "actor_label", "action", "object_type", "object_id", "object_repr",
                   "before", "after", "reason", "ip_address", "user_agent"]
    export_filename = "audit-trail"
    inspect_view_fields = list_export
    inspect_view_class = AuditEntryInspectView
    ordering = ["-created_at", "-id"]


@hooks.register("register_admin_viewset")
def register_audit_viewset():
    return AuditEntryViewSet("audit")
