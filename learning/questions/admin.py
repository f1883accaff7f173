"""Wagtail admin for the question bank: categories, questions (saved through the services, so a question an attempt
showed gets a new version) and the Excel import and export."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.views.generic import CreateView, EditView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.viewsets.base import ViewSet
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permissions import register_permission_policy

from engage.core.errors import DomainError
from engage.core.policies import CapabilityPolicy, ServiceSaveMixin
from engage.core.roles import Capability, can
from learning.questions import exporters, importers, services
from learning.questions.models import Question, QuestionCategory, QuestionKind
from learning.questions.selectors import can_manage_question_bank, category_paths

_BANK = {action: Capability.MANAGE_LEARNING for action in ("view", "add", "change")}
register_permission_policy(QuestionCategory, CapabilityPolicy(QuestionCategory, _BANK))
register_permission_policy(Question, CapabilityPolicy(Question, _BANK))


class QuestionCategoryViewSet(ModelViewSet):
    model = QuestionCategory
    icon = "folder-open-inverse"
    menu_label = gettext_lazy("Question categories")
    form_fields = ["name", "parent", "kind", "product", "therapy_area"]
    list_display = ["name", "parent", "kind", "product"]
    search_fields = ["name"]
    search_backend_name = None
    copy_view_enabled = False


def _options_text(version) -> str:
    return "\n".join(("*" if option.get("correct") else "") + option["text"] for option in version.options)


class QuestionForm(WagtailAdminModelForm):
    text = forms.CharField(label=gettext_lazy("question"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    options_text = forms.CharField(
        label=gettext_lazy("options"), required=False, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("One option per line; start the correct ones with *. True or false: *对 or *错."))
    accepted_text = forms.CharField(label=gettext_lazy("accepted answers"), required=False, max_length=1000,
                                    help_text=gettext_lazy("Fill in the blank: the accepted answers, separated by |."))
    explanation = forms.CharField(label=gettext_lazy("explanation"), required=False, max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 3}))

    class Meta:
        model = Question
        fields = ["category", "kind", "difficulty", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        version = self.instance.current_version if self.instance.pk else None
        if version is not None:
            self.fields["kind"].disabled = True
            self.initial.update({"text": version.text, "options_text": _options_text(version),
                                 "accepted_text": "|".join(version.accepted_answers),
                                 "explanation": version.explanation})

    def question_fields(self) -> dict:
        data = self.cleaned_data
        kind = data.get("kind") or self.instance.kind
        lines = [line.strip() for line in (data.get("options_text") or "").splitlines() if line.strip()]
        options = [{"text": line.lstrip("*").strip(), "correct": line.startswith("*")} for line in lines]
        if kind == QuestionKind.TRUE_FALSE:
            right = next((o["text"] for o in options if o["correct"]), "")
            options = [{"key": "T" if right in importers.TRUE_LABELS else "F", "correct": True}] if right else []
        return {"text": data["text"], "options": options, "explanation": data.get("explanation") or "",
                "accepted_answers": [a.strip() for a in (data.get("accepted_text") or "").split("|") if a.strip()]}


class QuestionCreateView(ServiceSaveMixin, CreateView):
    def call_service(self):
        data = self.form.cleaned_data
        return services.question_create(actor=self.request.user, category=data["category"], kind=data["kind"],
                                        difficulty=data["difficulty"], **self.form.question_fields())


class QuestionEditView(ServiceSaveMixin, EditView):
    def call_service(self):
        data = self.form.cleaned_data
        services.question_update(actor=self.request.user, question=self.object, difficulty=data["difficulty"],
                                 category=data["category"], **self.form.question_fields())
        return self.object


class QuestionViewSet(ModelViewSet):
    model = Question
    icon = "help"
    menu_label = gettext_lazy("Questions")
    list_display = ["__str__", "category", "kind", "difficulty", "is_active"]
    list_filter = ["kind", "difficulty", "category", "is_active"]
    add_view_class = QuestionCreateView
    edit_view_class = QuestionEditView
    copy_view_enabled = False
    inspect_view_enabled = True

    def get_form_class(self, for_update=False):
        return QuestionForm


class QuestionImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Excel file (.xlsx)"))


class QuestionImportView(WagtailAdminTemplateMixin, FormView):
    """Upload a workbook: all questions are imported, or none, with a line/column/reason list of the problems."""

    template_name = "learning/questions/admin/import.html"
    form_class = QuestionImportForm
    page_title = gettext_lazy("Import questions")
    header_icon = "upload"

    def dispatch(self, request, *args, **kwargs):
        if not can_manage_question_bank(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["template_url"] = reverse("learning_question_files:template")
        context["export_url"] = reverse("learning_question_files:export")
        context.setdefault("errors", [])
        return context

    def form_valid(self, form):
        uploaded = form.cleaned_data["file"]
        if uploaded.size > importers.MAX_FILE_BYTES:
            form.add_error("file", _("The file is larger than 5 MB."))
            return self.form_invalid(form)
        try:
            created = services.questions_import(actor=self.request.user, data=uploaded.read(),
                                                filename=uploaded.name)
        except DomainError as error:
            form.add_error(None, error.message)
            return self.render_to_response(self.get_context_data(form=form, errors=error.details.get("errors", [])))
        messages.success(self.request, _("%(n)s questions imported.") % {"n": len(created)})
        return redirect(reverse("learning_question_files:import"))


def _xlsx(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content,
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def question_template(request):
    if not can(request.user, Capability.MANAGE_LEARNING):
        raise PermissionDenied
    return _xlsx(exporters.question_template_workbook(), "question-template.xlsx")


def question_export(request):
    if not can(request.user, Capability.MANAGE_LEARNING):
        raise PermissionDenied
    questions = (Question.objects.filter(current_version__isnull=False).select_related("current_version")
                 .prefetch_related("tags").order_by("category_id", "pk"))
    return _xlsx(exporters.question_export_workbook(questions, paths=category_paths()), "questions.xlsx")


class QuestionFilesViewSet(ViewSet):
    name = "learning_question_files"
    url_prefix = "learning/question-files"
    icon = "upload"
    menu_label = gettext_lazy("Import and export questions")

    def get_urlpatterns(self):
        return [
            path("", QuestionImportView.as_view(), name="import"),
            path("template.xlsx", question_template, name="template"),
            path("export.xlsx", question_export, name="export"),
        ]

    def get_menu_item(self, order=None):
        item = super().get_menu_item(order)
        item.is_shown = lambda request: can(request.user, Capability.MANAGE_LEARNING)
        return item

    @property
    def menu_url(self):
        return reverse("learning_question_files:import")


def question_viewsets():
    return [QuestionCategoryViewSet("learning_categories"), QuestionViewSet("learning_questions"),
            QuestionFilesViewSet()]
