"""Wagtail admin for rep learning: curricula (an ordered set of courses and the validity of their certificate),
assignments (who must take a course or curriculum by when, and who it reached with their status) and the product
qualification requirements with how many reps are not qualified. Every write goes through
learning.assignments.services (audited); the views only parse, call and render."""

import re
from datetime import datetime, time

from django import forms
from django.core.paginator import Paginator
from django.db.models import Count
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic import CreateView, DeleteView, EditView, IndexView
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permissions import register_permission_policy

from cms.pages.models import Product
from engage.core.policies import CapabilityPolicy, LocalInspectView, ServiceArgumentsForm, ServiceSaveMixin
from engage.core.roles import Capability, capability_holders
from engage.core.widgets import DateInput
from learning.assignments import selectors, services
from learning.assignments.models import (
    Assignment,
    AssignmentAudience,
    Curriculum,
    DueRule,
    ProductRequirement,
)
from learning.courses.models import CoursePage
from members.hospitals.models import Territory, TherapyArea
from members.teams.models import Team

_MANAGE = Capability.MANAGE_ASSIGNMENTS
register_permission_policy(Curriculum, CapabilityPolicy(Curriculum, {a: _MANAGE for a in ("view", "add", "change")}))
register_permission_policy(Assignment, CapabilityPolicy(Assignment, {a: _MANAGE for a in ("view", "add")}))
register_permission_policy(ProductRequirement, CapabilityPolicy(ProductRequirement, {
    a: _MANAGE for a in ("view", "add", "change", "delete")}))

# The model's verbose name "due" is shared with the medication reminders' (应服时间) in the catalogue.
DUE_RULE_LABEL = gettext_lazy("When it is due")
MIN_COURSE_SLOTS = 6
ROUNDS_PER_PAGE = 100
_SLOT = re.compile(r"^course_(\d+)$")


def _label(model, name: str):
    """A form field's label: the model field's (translated) verbose name."""
    return capfirst(model._meta.get_field(name).verbose_name)


def _courses():
    return CoursePage.objects.order_by("title")


def _reps():
    return capability_holders(Capability.COVER_TERRITORY, superusers=False).order_by("display_name", "username")


# --- curricula ----------------------------------------------------------------------------------------------------


class CurriculumForm(ServiceArgumentsForm):
    """Title, description, validity and the courses in order, one per numbered slot (empty slots are skipped).
    curriculum_create / curriculum_update validate them; the model form writes nothing itself."""

    title = forms.CharField(label=_label(Curriculum, "title"), max_length=200)
    description = forms.CharField(label=_label(Curriculum, "description"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    validity_months = forms.IntegerField(
        label=_label(Curriculum, "validity_months"), initial=12, min_value=1,
        max_value=services.MAX_RECURRENCE_MONTHS)

    class Meta:
        model = Curriculum
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = list(self.instance.items.values_list("course_id", flat=True)) if self.instance.pk else []
        posted = [int(m.group(1)) for key in (self.data or {}) if (m := _SLOT.match(key))]
        slots = min(services.MAX_CURRICULUM_COURSES, max(MIN_COURSE_SLOTS, len(current) + 3, *posted, 0))
        for n in range(1, slots + 1):
            self.fields[f"course_{n}"] = forms.ModelChoiceField(
                label=_("Course %(n)d") % {"n": n}, required=False, queryset=_courses())
        if self.instance.pk and not self.is_bound:
            self.initial.update(title=self.instance.title, description=self.instance.description,
                                validity_months=self.instance.validity_months,
                                **{f"course_{n}": pk for n, pk in enumerate(current, start=1)})

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        slots = sorted((int(m.group(1)), value) for key, value in data.items() if (m := _SLOT.match(key)))
        return {"title": data["title"], "description": data["description"],
                "validity_months": data["validity_months"],
                "courses": [course for _n, course in slots if course is not None]}


class CurriculumCreateView(ServiceSaveMixin, CreateView):
    def call_service(self):
        return services.curriculum_create(actor=self.request.user, **self.form.service_arguments())


class CurriculumEditView(ServiceSaveMixin, EditView):
    def call_service(self):
        return services.curriculum_update(actor=self.request.user, curriculum=self.object,
                                          **self.form.service_arguments())


class CurriculumIndexView(IndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().annotate(course_count=Count("items"))


class CurriculumViewSet(ModelViewSet):
    model = Curriculum
    icon = "list-ol"
    menu_label = gettext_lazy("Curricula")
    list_display = ["title", Column("course_count", label=gettext_lazy("Courses")), "validity_months",
                    "created_at"]
    search_fields = ["title"]
    search_backend_name = None
    index_view_class = CurriculumIndexView
    add_view_class = CurriculumCreateView
    edit_view_class = CurriculumEditView
    copy_view_enabled = False

    def get_form_class(self, for_update=False):
        return CurriculumForm


# --- assignments --------------------------------------------------------------------------------------------------


class AssignmentForm(ServiceArgumentsForm):
    """What is assigned (a course or a curriculum), to whom, by when and how often: assignment_create's arguments,
    validated by it."""

    course = forms.ModelChoiceField(label=_label(Assignment, "course"), required=False,
                                    queryset=CoursePage.objects.none())
    curriculum = forms.ModelChoiceField(label=_label(Assignment, "curriculum"), required=False,
                                        queryset=Curriculum.objects.order_by("title"),
                                        help_text=gettext_lazy("Choose a course or a curriculum, not both."))
    audience = forms.ChoiceField(label=_label(Assignment, "audience"), choices=AssignmentAudience.choices,
                                 widget=forms.RadioSelect)
    team = forms.ModelChoiceField(label=_label(Assignment, "team"), required=False,
                                  queryset=Team.objects.order_by("name"))
    territory = forms.ModelChoiceField(label=_label(Assignment, "territory"), required=False,
                                       queryset=Territory.objects.order_by("name"))
    product_line = forms.ModelChoiceField(label=_label(Assignment, "product_line"), required=False,
                                          queryset=TherapyArea.objects.order_by("name"))
    people = forms.ModelMultipleChoiceField(label=_label(Assignment, "people"), required=False,
                                            queryset=Team.objects.none(), widget=forms.CheckboxSelectMultiple)
    due_rule = forms.ChoiceField(label=DUE_RULE_LABEL, choices=DueRule.choices, widget=forms.RadioSelect)
    due_on = forms.DateField(label=_label(Assignment, "due_on"), required=False, widget=DateInput,
                             help_text=gettext_lazy("Due at the end of this day."))
    due_days = forms.IntegerField(label=_label(Assignment, "due_days"), required=False, min_value=1,
                                  max_value=services.MAX_DUE_DAYS)
    recurrence_months = forms.IntegerField(
        label=_label(Assignment, "recurrence_months"), required=False, min_value=1,
        max_value=services.MAX_RECURRENCE_MONTHS, help_text=gettext_lazy("Empty: once."))

    class Meta:
        model = Assignment
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["course"].queryset = _courses()
        self.fields["people"].queryset = _reps()

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        due_on = data["due_on"]
        if due_on is not None:  # a date is read as the end of that day where the staff member is
            due_on = timezone.make_aware(datetime.combine(due_on, time(23, 59, 59)))
        return {"course": data["course"], "curriculum": data["curriculum"], "audience": data["audience"],
                "team": data["team"], "territory": data["territory"], "product_line": data["product_line"],
                "people": list(data["people"]), "due_rule": data["due_rule"], "due_on": due_on,
                "due_days": data["due_days"], "recurrence_months": data["recurrence_months"]}


class AssignmentCreateView(ServiceSaveMixin, CreateView):
    def call_service(self):
        return services.assignment_create(actor=self.request.user, **self.form.service_arguments())


class AssignmentIndexView(IndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("course", "curriculum", "team", "territory",
                                                          "product_line").annotate(rep_count=Count("rep_assignments"))


class AssignmentInspectView(LocalInspectView):
    """The assignment, then who it expanded to: every rep's round with its due date and status."""

    template_name = "learning/assignments/admin/assignment.html"

    labels = {"due_rule": DUE_RULE_LABEL, "created_by": pgettext_lazy("learning admin", "Assigned by")}

    def get_field_label(self, field_name, field):
        return self.labels.get(field_name) or super().get_field_label(field_name, field)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = Paginator(selectors.assignment_rounds(assignment=self.object), ROUNDS_PER_PAGE).get_page(
            self.request.GET.get("p"))
        now = timezone.now()
        context.update(
            rounds_page=page,
            rounds=[(row, selectors.ROUND_STATUS_LABELS[selectors.round_status(row, now)],
                     selectors.round_status(row, now)) for row in page],
            counts=[(selectors.ROUND_STATUS_LABELS[key], n)
                    for key, n in selectors.assignment_round_counts(assignment=self.object).items()],
        )
        return context


class AssignmentViewSet(ModelViewSet):
    model = Assignment
    icon = "date"
    menu_label = gettext_lazy("Assignments")
    list_display = ["__str__", "audience", Column("due_rule", label=DUE_RULE_LABEL, accessor="get_due_rule_display"),
                    "recurrence_months",
                    Column("rep_count", label=gettext_lazy("Reps")), "created_at"]
    list_filter = ["audience", "due_rule", "curriculum"]
    index_view_class = AssignmentIndexView
    add_view_class = AssignmentCreateView
    inspect_view_class = AssignmentInspectView
    inspect_view_enabled = True
    inspect_view_fields = ["course", "curriculum", "audience", "team", "territory", "product_line", "due_rule",
                           "due_on", "due_days", "recurrence_months", "created_by", "created_at"]
    copy_view_enabled = False

    def get_form_class(self, for_update=False):
        return AssignmentForm


# --- product qualification requirements ---------------------------------------------------------------------------


class ProductRequirementForm(ServiceArgumentsForm):
    """The product and the curriculum it requires: product_requirement_set's arguments, validated by it."""

    product = forms.ModelChoiceField(label=_label(ProductRequirement, "product"),
                                     queryset=Product.objects.order_by("name"))
    curriculum = forms.ModelChoiceField(label=_label(ProductRequirement, "curriculum"),
                                        queryset=Curriculum.objects.order_by("title"))

    class Meta:
        model = ProductRequirement
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["product"].disabled = True
            self.initial.setdefault("product", self.instance.product_id)
            self.initial.setdefault("curriculum", self.instance.curriculum_id)


class ProductRequirementCreateView(ServiceSaveMixin, CreateView):
    def call_service(self):
        data = self.form.cleaned_data
        return services.product_requirement_set(actor=self.request.user, product=data["product"],
                                                curriculum=data["curriculum"], must_be_new=True)


class ProductRequirementEditView(ServiceSaveMixin, EditView):
    def call_service(self):
        return services.product_requirement_set(actor=self.request.user, product=self.object.product,
                                                curriculum=self.form.cleaned_data["curriculum"])


class ProductRequirementDeleteView(DeleteView):
    """The product no longer requires a curriculum: through product_requirement_set (audited)."""

    def delete_action(self):
        services.product_requirement_set(actor=self.request.user, product=self.object.product, curriculum=None)


class ProductRequirementIndexView(IndexView):
    def get_base_queryset(self):
        return selectors.requirements_with_unqualified_counts()


class ProductRequirementViewSet(ModelViewSet):
    model = ProductRequirement
    icon = "lock"
    menu_label = gettext_lazy("Product qualification")
    list_display = ["product", "curriculum", Column("unqualified_reps", label=gettext_lazy("Reps not qualified"))]
    index_view_class = ProductRequirementIndexView
    add_view_class = ProductRequirementCreateView
    edit_view_class = ProductRequirementEditView
    delete_view_class = ProductRequirementDeleteView
    copy_view_enabled = False

    def get_form_class(self, for_update=False):
        return ProductRequirementForm


def assignment_viewsets() -> list:
    return [CurriculumViewSet("learning_curricula"), AssignmentViewSet("learning_assignments"),
            ProductRequirementViewSet("learning_product_requirements")]
