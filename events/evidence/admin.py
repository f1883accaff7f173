"""Admin downloads of meeting evidence for staff (compliance above all): the evidence pack ZIP and the sign-in
sheet as PDF or Excel. Every download is audit-logged by events.evidence.services."""

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView
from wagtail import hooks
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets import Button

from engage.core.errors import DomainError
from engage.core.roles import Capability, can
from events.evidence.services import evidence_pack_build, evidence_summary, signin_sheet_download
from events.pages.admin import MEETINGS_MENU_HOOK
from events.pages.models import EventPage
from events.photos.admin import StaffMenuItem, StaffOnlyMixin


class EvidenceIndexView(StaffOnlyMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "events/evidence/admin/index.html"
    page_title = gettext_lazy("Evidence packs")
    header_icon = "doc-full"

    def get_breadcrumbs_items(self):
        return [*super().get_breadcrumbs_items(), {"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.get("q", "").strip()[:100]
        events = EventPage.objects.order_by("-starts_at", "-pk")
        if query:
            events = events.filter(Q(title__icontains=query) | Q(approval_code__iexact=query))
        context.update(page_obj=Paginator(events, 50).get_page(self.request.GET.get("p")), query=query)
        return context


class EvidenceEventView(StaffOnlyMixin, WagtailAdminTemplateMixin, TemplateView):
    """The summary with its flags, and the download buttons."""

    template_name = "events/evidence/admin/event.html"
    header_icon = "doc-full"

    def dispatch(self, request, *args, **kwargs):
        self.event = get_object_or_404(EventPage, pk=kwargs["event_id"])
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return _("Evidence pack")

    def get_page_subtitle(self):
        return self.event.title

    def get_breadcrumbs_items(self):
        return [*super().get_breadcrumbs_items(), {"url": reverse("evidence_index"), "label": _("Evidence packs")},
                {"url": "", "label": self.event.title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(event=self.event, summary=evidence_summary(self.event))
        return context


class EvidencePackDownloadView(StaffOnlyMixin, View):
    def get(self, request, event_id: int):
        event = get_object_or_404(EventPage, pk=event_id)
        spool, filename = evidence_pack_build(event=event, actor=request.user)
        response = FileResponse(spool, as_attachment=True, filename=filename, content_type="application/zip")
        response["Cache-Control"] = "private, no-store"
        return response


class SigninSheetDownloadView(StaffOnlyMixin, View):
    def get(self, request, event_id: int, fmt: str):
        event = get_object_or_404(EventPage, pk=event_id)
        try:
            download = signin_sheet_download(event=event, actor=request.user, fmt=fmt)
        except DomainError as exc:
            return HttpResponse(str(exc.message), status=exc.status, content_type="text/plain; charset=utf-8")
        response = HttpResponse(download.content, content_type=download.content_type)
        response["Content-Disposition"] = f'attachment; filename="{download.filename}"'
        response["Cache-Control"] = "private, no-store"
        return response


@hooks.register("register_admin_urls")
def register_evidence_urls():
    return [
        path("meetings/evidence/", EvidenceIndexView.as_view(), name="evidence_index"),
        path("meetings/<int:event_id>/evidence/", EvidenceEventView.as_view(), name="evidence_event"),
        path("meetings/<int:event_id>/evidence/pack.zip", EvidencePackDownloadView.as_view(), name="evidence_pack"),
        path("meetings/<int:event_id>/evidence/signin.<str:fmt>", SigninSheetDownloadView.as_view(),
             name="evidence_signin"),
    ]


@hooks.register(MEETINGS_MENU_HOOK)
def register_evidence_menu_item():
    return StaffMenuItem(_("Evidence packs"), reverse("evidence_index"), icon_name="doc-full", order=500)


@hooks.register("register_page_listing_more_buttons")
def event_evidence_buttons(page, user, next_url=None):
    if page.specific_class is EventPage and can(user, Capability.VIEW_MEETINGS_ADMIN):
        yield Button(_("Evidence pack"), reverse("evidence_event", args=[page.pk]), icon_name="doc-full",
                     priority=71)
