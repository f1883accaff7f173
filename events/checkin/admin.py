"""Wagtail admin: meetings' check-in dashboards (live counters), the check-in log and annulment with a reason.

Staff only (events.checkin.selectors.can_manage_checkins). Views parse, call one selector or service, render.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView, View
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets import Button

from engage.core.errors import DomainError, NotFound
from events.checkin.models import CheckIn
from events.checkin.selectors import (
    can_manage_checkins,
    checkin_log,
    checkin_window,
    event_counters,
    events_for_checkin,
)
from events.checkin.services import checkin_annul
from events.pages.models import EventPage
from events.pages.selectors import EventUse, access_event


class StaffOnlyMixin:
    def dispatch(self, request, *args, **kwargs):
        if not can_manage_checkins(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class EventMixin(StaffOnlyMixin):
    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        try:
            self.event = access_event(user=request.user, event_id=kwargs["event_id"], use=EventUse.MANAGE_CHECKIN)
        except NotFound:
            raise Http404 from None
        except DomainError:
            raise PermissionDenied from None

    def get_breadcrumbs_items(self):
        return [*super().get_breadcrumbs_items(),
                {"url": reverse("events_checkin_list"), "label": _("Check-in")},
                {"url": "", "label": self.get_page_title()}]


class CheckinListView(StaffOnlyMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "events/checkin/admin/list.html"
    page_title = _("Check-in")
    header_icon = "tick"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "events": events_for_checkin(self.request.user)}


class DashboardView(EventMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "events/checkin/admin/dashboard.html"
    header_icon = "view"

    def get_page_title(self):
        return _("Check-in: %(title)s") % {"title": self.event.title}

    def get_context_data(self, **kwargs):
        opens, closes = checkin_window(self.event)
        counters = event_counters(self.event)
        peak = max([bar["count"] for bar in counters["arrivals"]] or [0])
        return {**super().get_context_data(**kwargs), "event": self.event, "counters": counters, "opens": opens,
                "closes": closes, "peak": max(peak, 1), "ws_path": f"/ws/events/{self.event.pk}/live/"}


class AnnulForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300, required=True, strip=True)


class LogView(EventMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "events/checkin/admin/log.html"
    header_icon = "list-ul"

    def get_page_title(self):
        return _("Check-in log: %(title)s") % {"title": self.event.title}

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "event": self.event, "scans": checkin_log(self.event),
                "form": AnnulForm()}


class AnnulView(StaffOnlyMixin, View):
    def post(self, request, checkin_id: int):
        checkin = get_object_or_404(CheckIn, pk=checkin_id)
        form = AnnulForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Say why the check-in is annulled."))
        else:
            try:
                checkin_annul(checkin=checkin, actor=request.user, reason=form.cleaned_data["reason"])
                messages.success(request, _("The check-in was annulled."))
            except DomainError as exc:
                messages.error(request, exc.message)
        return redirect("events_checkin_log", event_id=checkin.event_id)


@hooks.register("register_admin_urls")
def register_checkin_urls():
    return [
        path("events/checkin/", CheckinListView.as_view(), name="events_checkin_list"),
        path("events/<int:event_id>/checkin/", DashboardView.as_view(), name="events_checkin_dashboard"),
        path("events/<int:event_id>/checkin/log/", LogView.as_view(), name="events_checkin_log"),
        path("events/checkin/<int:checkin_id>/annul/", AnnulView.as_view(), name="events_checkin_annul"),
    ]


class StaffMenuItem(MenuItem):
    def is_shown(self, request):
        return can_manage_checkins(request.user)


@hooks.register("register_admin_menu_item")
def register_checkin_menu_item():
    return StaffMenuItem(_("Check-in"), reverse("events_checkin_list"), icon_name="tick", order=330)


@hooks.register("register_page_header_buttons")
def checkin_dashboard_button(page, user, view_name, next_url=None):
    """A meeting page's header menu links to its check-in dashboard."""
    if isinstance(page.specific_deferred, EventPage) and can_manage_checkins(user):
        yield Button(_("Check-in dashboard"), reverse("events_checkin_dashboard", args=[page.pk]), icon_name="tick",
                     priority=80)
