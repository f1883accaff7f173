"""Wagtail admin for exams: exams with their fixed questions and random draws, per-learner overrides (granted
through the service: audited), attempts and course completions to read. Shown in learning's menu group with the
question bank (learning/wagtail_hooks.py)."""

from django import forms
from django.utils.translation import gettext_lazy
from wagtail import hooks
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.views.generic import CreateView, EditView
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permissions import register_permission_policy

from engage.core.policies import CapabilityPolicy, ReadOnlyModelViewSet, ReadOnlyPolicy, ServiceSaveMixin
from engage.core.roles import Capability, capability_holders
from learning.courses.models import CourseCompletion
from learning.exams.models import Attempt, Exam, ExamDraw, ExamOverride, ExamQuestion
from learning.exams.services import exam_override_grant
from learning.questions.admin import question_viewsets

_EDIT = {action: Capability.MANAGE_LEARNING for action in ("view", "add", "change")}
register_permission_policy(Exam, CapabilityPolicy(Exam, _EDIT))
register_permission_policy(ExamDraw, CapabilityPolicy(ExamDraw, {**_EDIT, "delete": Capability.MANAGE_LEARNING}))
register_permission_policy(ExamQuestion, CapabilityPolicy(ExamQuestion,
                                                          {**_EDIT, "delete": Capability.MANAGE_LEARNING}))
register_permission_policy(ExamOverride, CapabilityPolicy(ExamOverride, {
    action: Capability.GRANT_EXAM_OVERRIDES for action in ("view", "add", "change")}))
register_permission_policy(Attempt, ReadOnlyPolicy(Attempt, Capability.MANAGE_LEARNING))
register_permission_policy(CourseCompletion, ReadOnlyPolicy(CourseCompletion, Capability.MANAGE_LEARNING))


class ExamViewSet(ModelViewSet):
    model = Exam
    icon = "form"
    menu_label = gettext_lazy("Exams")
    form_fields = ["title", "description", "time_limit_minutes", "grace_seconds", "attempts_allowed", "delay_minutes",
                   "pass_mark_percent", "grading", "review_mode", "opens_at", "closes_at", "shuffle_questions",
                   "shuffle_options", "is_active"]
    list_display = ["title", "time_limit_minutes", "pass_mark_percent", "attempts_allowed", "is_active"]
    search_fields = ["title"]
    search_backend_name = None
    copy_view_enabled = False


class ExamDrawViewSet(ModelViewSet):
    model = ExamDraw
    icon = "resubmit"
    menu_label = gettext_lazy("Random draws")
    form_fields = ["exam", "category", "difficulty", "include_subcategories", "count", "sort_order"]
    list_display = ["exam", "category", "difficulty", "count"]
    list_filter = ["exam"]
    copy_view_enabled = False


class ExamQuestionViewSet(ModelViewSet):
    model = ExamQuestion
    icon = "pick"
    menu_label = gettext_lazy("Fixed exam questions")
    form_fields = ["exam", "question", "sort_order"]
    list_display = ["exam", "question", "sort_order"]
    list_filter = ["exam"]
    copy_view_enabled = False


class ExamOverrideForm(WagtailAdminModelForm):
    class Meta:
        model = ExamOverride
        fields = ["exam", "user", "extra_minutes", "extra_attempts", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        learners = capability_holders(Capability.TAKE_COURSES, superusers=False) | capability_holders(
            Capability.TAKE_DOCTOR_COURSES, superusers=False)
        self.fields["user"].queryset = learners.distinct()
        self.fields["reason"].widget = forms.TextInput()


class _OverrideSave(ServiceSaveMixin):
    def call_service(self):
        data = self.form.cleaned_data
        return exam_override_grant(actor=self.request.user, exam=data["exam"], user=data["user"],
                                   extra_minutes=data["extra_minutes"], extra_attempts=data["extra_attempts"],
                                   reason=data["reason"])


class ExamOverrideCreateView(_OverrideSave, CreateView):
    """Grants an override through exam_override_grant (audited), never a bare model save."""


class ExamOverrideEditView(_OverrideSave, EditView):
    """Changes an override through exam_override_grant (audited), never a bare model save."""


class ExamOverrideViewSet(ModelViewSet):
    model = ExamOverride
    icon = "time"
    menu_label = gettext_lazy("Exam overrides")
    list_display = ["exam", "user", "extra_minutes", "extra_attempts", "reason", "granted_by", "granted_at"]
    add_view_class = ExamOverrideCreateView
    edit_view_class = ExamOverrideEditView
    copy_view_enabled = False

    def get_form_class(self, for_update=False):
        return ExamOverrideForm


class AttemptViewSet(ReadOnlyModelViewSet):
    model = Attempt
    icon = "list-ol"
    menu_label = gettext_lazy("Exam attempts")
    list_display = ["exam", "user", "number", "status", "started_at", "submitted_at", "percent", "passed"]
    list_filter = ["exam", "status", "passed"]
    add_to_admin_menu = False


class CourseCompletionViewSet(ReadOnlyModelViewSet):
    model = CourseCompletion
    icon = "tick-inverse"
    menu_label = gettext_lazy("Course completions")
    list_display = ["course", "user", "completed_at", "score_percent"]
    list_filter = ["course"]
    add_to_admin_menu = False


def exam_viewsets() -> list:
    """The exams and question bank screens of learning's menu group (learning/wagtail_hooks.py)."""
    return [
        ExamViewSet("learning_exams"),
        ExamDrawViewSet("learning_exam_draws"),
        ExamQuestionViewSet("learning_exam_questions"),
        ExamOverrideViewSet("learning_exam_overrides"),
        *question_viewsets(),
    ]


@hooks.register("register_admin_viewset")
def register_learning_viewsets():
    return [AttemptViewSet("learning_attempts"), CourseCompletionViewSet("learning_completions")]
