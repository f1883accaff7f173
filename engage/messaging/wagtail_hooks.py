from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.permissions import register_permission_policy

from engage.core.admin_policies import ReadOnlyModelViewSet, ReadOnlyRolePolicy
from engage.roles import Role

from .models import OutboundMessage

register_permission_policy(
    OutboundMessage, ReadOnlyRolePolicy(OutboundMessage, roles=(Role.MARKETING, Role.COMPLIANCE, Role.ADMIN))
)


class OutboundMessageViewSet(ReadOnlyModelViewSet):
    """The outbox: every message the platform sent or tried to send."""

    model = OutboundMessage
    icon = "mail"
    menu_label = _("Outbox")
    menu_order = 910
    list_display = ["created_at", "channel", "recipient", "template_key", "status", "attempts"]
    list_filter = ["channel", "status", "template_key"]
    search_fields = ["recipient", "template_key", "provider_message_id"]
    list_export = ["created_at", "channel", "recipient", "template_key", "status", "provider_message_id",
                   "error_code", "attempts", "sent_at"]
    export_filename = "outbox"
    ordering = ["-created_at", "-id"]


@hooks.register("register_admin_viewset")
def register_outbox_viewset():
    return OutboundMessageViewSet("outbox")
