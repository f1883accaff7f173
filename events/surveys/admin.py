"""Admin of surveys: the builder (a snippet with its questions inline), the results page with server-rendered
bars, response rate and non-responders, and the Excel export. Saving goes through events.surveys.services."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from django.views.generic import TemplateView
from wagtail.admin.ui.menus import MenuItem
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.permissions import register_permission_policy
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import CreateView, EditView, IndexView, SnippetViewSet

from engage.audit.services import audit_log
from engage.core.errors import DomainError
from engage.core.policies import CapabilityPolicy, ServiceSaveMixin, yes_no_column
from engage.core.roles import Capability, can
from events.pages.admin import MEETINGS_MENU_HOOK
from events.surveys.exporters import survey_results_xlsx
from events.surveys.models import Survey
from events.surveys.selectors import survey_results
from events.surveys.services import survey_remind, survey_save

register_permission_policy(Survey, CapabilityPolicy(Survey, {
    "view": Capability.VIEW_MEETINGS_ADMIN, "add": Capability.BUILD_SURVEYS, "change": Capability.BUILD_SURVEYS}))


class SurveyCreateView(ServiceSaveMixin, CreateView):
    def call_service(self):
        return survey_save(survey=self.form.save(commit=False), actor=self.request.user)


class SurveyEditView(ServiceSaveMixin, EditView):
    def call_service(self):
        return survey_save(survey=self.form.save(commit=False), actor=self.request.user)


class SurveyIndexView(IndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("event").annotate(response_count=Count("responses"))

    def get_list_more_buttons(self, instance):
        buttons = super().get_list_more_buttons(instance)
        results_url = reverse(Survey.snippet_viewset.get_url_name("results"), args=[instance.pk])
        buttons.append(MenuItem(_("Results"), results_url,
                                icon_name="table", priority=5))
        return buttons


def _require_staff(request):
    if not can(request.user, Capability.VIEW_MEETINGS_ADMIN):
        raise PermissionDenied


class SurveyResultsView(WagtailAdminTemplateMixin, TemplateView):
    """Per-question bars (plain HTML/CSS), response rate against checked-in attendees, who has not answered."""

    template_name = "events/surveys/admin/results.html"
    header_icon = "table"
    url_namespace = ""

    def dispatch(self, request, *args, **kwargs):
        _require_staff(request)
        self.survey = get_object_or_404(Survey.objects.select_related("event"), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return _("Survey results")

    def get_page_subtitle(self):
        return self.survey.title

    def get_breadcrumbs_items(self):
        return [*super().get_breadcrumbs_items(),
                {"url": reverse(f"{self.url_namespace}:list"), "label": _("Surveys")},
                {"url": "", "label": self.survey.title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(survey=self.survey, results=survey_results(survey=self.survey),
                       export_url=reverse(f"{self.url_namespace}:results_xlsx", args=[self.survey.pk]),
                       remind_url=reverse(f"{self.url_namespace}:remind", args=[self.survey.pk]),
                       edit_url=reverse(f"{self.url_namespace}:edit", args=[self.survey.pk]))
        return context


class SurveyRemindView(View):
    """POST: notify the checked-in attendees who have not answered (once per doctor per day)."""

    url_namespace = ""

    def post(self, request, pk: int):
        _require_staff(request)
        survey = get_object_or_404(Survey, pk=pk)
        try:
            sent = survey_remind(survey_id=survey.pk, actor=request.user)
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, ngettext("%(n)d doctor reminded.", "%(n)d doctors reminded.", sent)
                             % {"n": sent})
        return redirect(f"{self.url_namespace}:results", pk=survey.pk)


def survey_results_xlsx_view(request, pk: int):
    _require_staff(request)
    survey = get_object_or_404(Survey.objects.select_related("event"), pk=pk)
    data = survey_results_xlsx(survey_results(survey=survey))
    audit_log(actor=request.user, action="events.survey_results_export", obj=survey)
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    name = slugify(survey.title, allow_unicode=False) or "survey"
    response["Content-Disposition"] = f'attachment; filename="survey-{survey.pk}-{name[:40]}.xlsx"'
    response["Cache-Control"] = "private, no-store"
    return response


class SurveyViewSet(SnippetViewSet):
    model = Survey
    icon = "form"
    menu_label = gettext_lazy("Surveys")
    menu_hook = MEETINGS_MENU_HOOK
    add_to_admin_menu = True
    list_display = ["title", "event", yes_no_column(Survey, "anonymous"), "opens_at", "closes_at",
                    Column("response_count", label=gettext_lazy("Responses")), "created_at"]
    list_filter = ["anonymous"]
    search_fields = ["title"]
    copy_view_enabled = False
    index_view_class = SurveyIndexView
    add_view_class = SurveyCreateView
    edit_view_class = SurveyEditView

    def get_urlpatterns(self):
        namespace = self.url_namespace
        return [
            *super().get_urlpatterns(),
            path("results/<int:pk>/", SurveyResultsView.as_view(url_namespace=namespace), name="results"),
            path("results/<int:pk>/xlsx/", survey_results_xlsx_view, name="results_xlsx"),
            path("results/<int:pk>/remind/", SurveyRemindView.as_view(url_namespace=namespace), name="remind"),
        ]


register_snippet(SurveyViewSet)
