"""Wagtail admin: the outbox (filterable, with an audited manual resend) and the inbox. Read-only otherwise."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.widgets import Button
from wagtail.permissions import register_permission_policy

from engage.core.errors import DomainError
from engage.core.policies import LocalInspectView, ReadOnlyModelViewSet, ReadOnlyPolicy
from engage.core.roles import Capability, can
from engage.messaging.models import InboundMessage, OutboundMessage
from engage.messaging.services import RESENDABLE, frequency_cap, frequency_cap_set, message_resend

register_permission_policy(OutboundMessage, ReadOnlyPolicy(OutboundMessage, Capability.VIEW_OUTBOX))
register_permission_policy(InboundMessage, ReadOnlyPolicy(InboundMessage, Capability.VIEW_OUTBOX))


class OutboxInspectView(LocalInspectView):
    @property
    def header_more_buttons(self):
        buttons = list(super().header_more_buttons)
        if self.object.status in RESENDABLE and can(self.request.user, Capability.RESEND_MESSAGES):
            buttons.append(Button(_("Resend"), url=reverse("outbox:resend", args=[self.object.pk]), icon_name="mail",
                                  priority=30))
        return buttons


class OutboundMessageViewSet(ReadOnlyModelViewSet):
    """The outbox: every message the platform sent or tried to send. Recipients appear masked."""

    model = OutboundMessage
    icon = "mail"
    menu_label = _("Outbox")
    menu_order = 910
    inspect_view_class = OutboxInspectView
    inspect_view_fields_exclude = ["recipient", "fallback_sms_to", "claim_token", "recipient_hash", "secret_params"]
    list_display = ["created_at", "channel", "recipient_masked", "template_key", "purpose", "status", "attempts",
                    "error_code"]
    list_filter = ["status", "channel", "template_key", "purpose", "created_at"]
    search_fields = ["template_key", "provider_message_id", "idempotency_key", "purpose"]
    list_export = ["created_at", "channel", "recipient_masked", "template_key", "purpose", "status",
                   "provider_message_id", "error_code", "attempts", "sent_at", "delivered_at"]
    export_filename = "outbox"
    ordering = ["-created_at", "-id"]

    def get_urlpatterns(self):
        return [*super().get_urlpatterns(), path("resend/<int:pk>/", resend_view, name="resend")]


class InboundMessageViewSet(ReadOnlyModelViewSet):
    """The inbox: SMS and WeChat replies, subscribe events and opt-outs, senders masked."""

    model = InboundMessage
    icon = "mail"
    menu_label = _("Inbox")
    menu_order = 911
    inspect_view_fields_exclude = ["sender", "sender_hash"]
    list_display = ["received_at", "channel", "sender_masked", "kind", "text", "reply"]
    list_filter = ["channel", "kind", "received_at"]
    search_fields = ["text", "provider_id"]
    ordering = ["-received_at", "-id"]


def resend_view(request, pk: int):
    """GET: the reason form; POST: resend (a new message linked to the original), audited."""
    original = get_object_or_404(OutboundMessage, pk=pk)
    if not can(request.user, Capability.RESEND_MESSAGES):
        raise DjangoPermissionDenied
    error = ""
    if request.method == "POST":
        try:
            copy = message_resend(message=original, actor=request.user, reason=request.POST.get("reason", ""))
        except DomainError as exc:
            error = str(exc.message)
        else:
            messages.success(request, _("The message was queued again."))
            return redirect("outbox:inspect", copy.pk)
    return TemplateResponse(request, "messaging/admin/resend.html", {
        "original": original, "error": error, "resendable": original.status in RESENDABLE,
        "reason": request.POST.get("reason", ""),
    }, status=400 if error else 200)


@hooks.register("register_admin_viewset")
def register_outbox_viewset():
    return OutboundMessageViewSet("outbox")


@hooks.register("register_admin_viewset")
def register_inbox_viewset():
    return InboundMessageViewSet("inbox")


class FrequencyCapForm(forms.Form):
    per_day = forms.IntegerField(label=_("Per day"), min_value=0, max_value=50)
    per_week = forms.IntegerField(label=_("Per week"), min_value=0, max_value=100)


def frequency_cap_view(request):
    """Compliance: how many informational and promotional messages a doctor may get (WeChat and SMS together)."""
    if not can(request.user, Capability.MANAGE_MESSAGE_CAP):
        raise DjangoPermissionDenied
    cap = frequency_cap()
    form = FrequencyCapForm(request.POST or None, initial={"per_day": cap.per_day, "per_week": cap.per_week})
    if request.method == "POST" and form.is_valid():
        try:
            frequency_cap_set(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, str(exc.message))
        else:
            messages.success(request, _("The frequency cap was saved."))
            return redirect("messaging_frequency_cap")
    return TemplateResponse(request, "messaging/admin/frequency_cap.html", {"form": form, "cap": cap},
                            status=400 if form.errors else 200)


@hooks.register("register_admin_urls")
def register_frequency_cap_url():
    return [path("messaging/frequency-cap/", frequency_cap_view, name="messaging_frequency_cap")]


class FrequencyCapMenuItem(MenuItem):
    def is_shown(self, request):
        return can(request.user, Capability.MANAGE_MESSAGE_CAP)


@hooks.register("register_settings_menu_item")
def register_frequency_cap_menu_item():
    return FrequencyCapMenuItem(_("Message frequency cap"), reverse("messaging_frequency_cap"), icon_name="time",
                                order=900)
