"""Wagtail admin of live sessions: the session of a meeting (stream provider, registration, Q&A moderation, the
credit rule; saved through events.live.services.live_session_save), the banned chat words medical staff keep,
and the attendance report of each session with its Excel export."""

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView
from wagtail import hooks
from wagtail.admin.views.generic import CreateView, EditView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets import Button
from wagtail.permissions import register_permission_policy

from engage.audit.services import audit_log
from engage.core.policies import CapabilityPolicy, ServiceSaveMixin
from engage.core.roles import Capability, can
from events.live import providers, services
from events.live.exporters import attendance_xlsx
from events.live.models import BannedWord, LiveSession
from events.live.selectors import attendance_report, can_manage_live_sessions, can_view_live_reports
from events.pages.admin import MEETINGS_MENU_HOOK
from events.pages.models import EventPage

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

register_permission_policy(LiveSession, CapabilityPolicy(LiveSession, {
    "view": Capability.VIEW_MEETINGS_ADMIN, "add": Capability.MANAGE_LIVE_SESSIONS,
    "change": Capability.MANAGE_LIVE_SESSIONS}))  # kept as evidence: never deleted
register_permission_policy(BannedWord, CapabilityPolicy(BannedWord, {
    "view": Capability.EDIT_BANNED_WORDS, "add": Capability.EDIT_BANNED_WORDS,
    "change": Capability.EDIT_BANNED_WORDS}))  # retired by unticking "active"

SESSION_FIELDS = ["provider", "app_name", "stream_name", "plain_url", "registration_required", "questions_moderated",
                  "credit_min_live_minutes", "credit_min_share", "prompts_enabled", "replay_earns_credit"]


def _session_input(form) -> services.LiveSessionInput:
    data = {name: form.cleaned_data.get(name) for name in SESSION_FIELDS}
    data["stream_name"] = data["stream_name"] or ""
    data["plain_url"] = data["plain_url"] or ""
    return services.LiveSessionInput(**data)


class LiveSessionCreateView(ServiceSaveMixin, CreateView):
    def get_initial(self):
        initial = super().get_initial()
        event = self.request.GET.get("event", "")
        if event.isdigit():
            initial["event"] = int(event)  # from the meeting's "Set up a live session" button
        return initial

    def call_service(self):
        return services.live_session_save(event=self.form.cleaned_data["event"], data=_session_input(self.form),
                                          actor=self.request.user)


class LiveSessionEditView(ServiceSaveMixin, EditView):
    def call_service(self):
        return services.live_session_save(event=self.object.event, data=_session_input(self.form),
                                          actor=self.request.user)


class LiveSessionViewSet(ModelViewSet):
    model = LiveSession
    icon = "media"
    menu_label = gettext_lazy("Live sessions")
    menu_hook = MEETINGS_MENU_HOOK
    menu_order = 350
    form_fields = ["event", *SESSION_FIELDS]
    list_display = ["event", "provider", "state", "started_at", "ended_at"]
    list_filter = ["state", "provider"]
    add_view_class = LiveSessionCreateView
    edit_view_class = LiveSessionEditView
    copy_view_enabled = False
    inspect_view_enabled = False


class BannedWordViewSet(ModelViewSet):
    model = BannedWord
    icon = "warning"
    menu_label = gettext_lazy("Banned chat words")
    menu_hook = MEETINGS_MENU_HOOK
    menu_order = 360
    form_fields = ["word", "is_active"]
    list_display = ["word", "is_active", "updated_at"]
    search_fields = ["word"]
    copy_view_enabled = False


class ReportAccessMixin:
    def dispatch(self, request, *args, **kwargs):
        if not can_view_live_reports(request.user):
            raise PermissionDenied
        self.session = get_object_or_404(LiveSession.objects.select_related("event"), pk=kwargs["session_id"])
        return super().dispatch(request, *args, **kwargs)


class AttendanceReportView(ReportAccessMixin, WagtailAdminTemplateMixin, TemplateView):
    """Who watched: doctor, hospital, joined at, live and replay minutes, prompts, questions, polls, credit."""

    template_name = "events/live/admin/attendance.html"
    header_icon = "media"

    def get_page_title(self):
        return _("Live session attendance")

    def get_page_subtitle(self):
        return self.session.event.title

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        rows = attendance_report(session=self.session)
        context.update(session=self.session, rows=rows, credited=sum(r.credited for r in rows),
                       push=providers.push_url(self.session) if can_manage_live_sessions(self.request.user) else None)
        return context


class AttendanceExportView(ReportAccessMixin, View):
    def get(self, request, session_id: int):
        content = attendance_xlsx(self.session)
        audit_log(actor=request.user, action="events.live_attendance_export", obj=self.session)
        response = HttpResponse(content, content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="live-{self.session.pk}-attendance.xlsx"'
        response["Cache-Control"] = "private, no-store"
        return response


@hooks.register("register_admin_urls")
def register_live_urls():
    return [
        path("meetings/live/<int:session_id>/attendance/", AttendanceReportView.as_view(), name="live_attendance"),
        path("meetings/live/<int:session_id>/attendance.xlsx", AttendanceExportView.as_view(),
             name="live_attendance_xlsx"),
    ]


@hooks.register("register_admin_viewset")
def register_live_viewsets():
    return [LiveSessionViewSet("live_sessions"), BannedWordViewSet("live_banned_words")]


@hooks.register("register_page_listing_more_buttons")
def event_live_buttons(page, user, next_url=None):
    """Next to a meeting: its live session's settings and attendance, or setting one up."""
    if page.specific_class is not EventPage or not can(user, Capability.VIEW_MEETINGS_ADMIN):
        return
    session = LiveSession.objects.filter(event_id=page.pk).only("pk").first()
    if session is not None:
        yield Button(_("Live session attendance"), reverse("live_attendance", args=[session.pk]), icon_name="media",
                     priority=72)
        if can_manage_live_sessions(user):
            yield Button(_("Live session settings"), reverse("live_sessions:edit", args=[session.pk]),
                         icon_name="media", priority=73)
    elif can_manage_live_sessions(user):
        yield Button(_("Set up a live session"), reverse("live_sessions:add") + f"?event={page.pk}",
                     icon_name="media", priority=73)
