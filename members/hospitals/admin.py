"""Wagtail admin for hospital master data: hospitals, departments, doctors' hospital proposals (approve, reject,
merge), Excel/CSV imports with progress, preview and error report, and sales territories.

Writes go through members.hospitals.services; the views only parse, call and render.
"""

import django_filters
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView, TemplateView
from wagtail import hooks
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic import CreateView, EditView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.viewsets.base import ViewSet, ViewSetGroup
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permissions import register_permission_policy

from engage.core.errors import DomainError
from engage.core.policies import CapabilityPolicy, LocalIndexView, ServiceSaveMixin
from engage.core.roles import Capability, can, capability_holders
from members.accounts.models import User
from members.hospitals import importers, selectors, services
from members.hospitals.models import Department, Hospital, HospitalImport, Territory
from members.hospitals.services import territory_save
from members.profiles.models import DoctorProfile

EDITORS = Capability.MANAGE_HOSPITALS
_MASTER_DATA = {"view": Capability.VIEW_HOSPITALS, "add": Capability.MANAGE_HOSPITALS,
                "change": Capability.MANAGE_HOSPITALS, "delete": Capability.DELETE_HOSPITALS}


register_permission_policy(Hospital, CapabilityPolicy(Hospital, _MASTER_DATA))


register_permission_policy(Department, CapabilityPolicy(Department, _MASTER_DATA))


register_permission_policy(Territory, CapabilityPolicy(Territory, {
    **_MASTER_DATA, "add": Capability.MANAGE_TERRITORIES, "change": Capability.MANAGE_TERRITORIES}))


register_permission_policy(HospitalImport, CapabilityPolicy(HospitalImport, {"view": EDITORS, "add": EDITORS}))


def _capability_menu_item_class(capability):
    class CapabilityMenuItem(MenuItem):
        def is_shown(self, request):
            return can(request.user, capability)

    return CapabilityMenuItem


class _RoleRequired:
    """Wagtail's URL wrapper refuses people without admin access; this narrows to the capability needed."""

    capability: Capability = EDITORS

    def dispatch(self, request, *args, **kwargs):
        if not can(request.user, self.capability):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


def _distinct_values(field):
    def choices():
        values = Hospital.objects.order_by(field).values_list(field, flat=True).distinct()
        return [(value, value) for value in values if value]

    return choices


class HospitalFilterSet(WagtailFilterSet):
    province = django_filters.ChoiceFilter(label=gettext_lazy("province"), choices=_distinct_values("province"))
    city = django_filters.ChoiceFilter(label=gettext_lazy("city"), choices=_distinct_values("city"))

    class Meta:
        model = Hospital
        fields = ["province", "city", "level", "grade", "hospital_type", "status"]


class HospitalForm(WagtailAdminModelForm):
    aliases = forms.CharField(
        label=gettext_lazy("aliases"), required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Other names doctors search for, separated by 、 or new lines."),
    )
    departments = forms.ModelMultipleChoiceField(
        label=gettext_lazy("departments"), required=False, queryset=Department.objects.all(),
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Hospital
        fields = ["name", "aliases", "province", "city", "district", "level", "grade", "hospital_type", "beds",
                  "yearly_outpatient_visits", "address", "latitude", "longitude", "departments", "status"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["aliases"] = "\n".join(self.instance.aliases or [])

    def clean_aliases(self):
        parts = importers._LIST_SPLIT.split(self.cleaned_data.get("aliases") or "")
        aliases = list(dict.fromkeys(" ".join(part.split()) for part in parts if part.strip()))
        if len(aliases) > importers.MAX_ALIASES or any(len(a) > importers.MAX_ALIAS_LENGTH for a in aliases):
            raise forms.ValidationError(_("At most %(count)d aliases of at most %(length)d characters each.")
                                        % {"count": importers.MAX_ALIASES, "length": importers.MAX_ALIAS_LENGTH})
        return aliases

    def clean(self):
        data = super().clean()
        name, city = " ".join((data.get("name") or "").split()), (data.get("city") or "").strip()
        if name:
            data["name"] = name
        if name and city:
            clash = Hospital.objects.filter(normalised_name=Hospital.normalise(name), city=city)
            if self.instance.pk:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error("name", _("A hospital with this name already exists in this city."))
        if data.get("grade") and data.get("level") in (None, "", Hospital.Level.UNRATED):
            self.add_error("grade", _("An unrated hospital has no grade."))
        return data


class _HospitalSaveMixin(ServiceSaveMixin):
    def call_service(self):
        return services.hospital_save(actor=self.request.user, hospital=self.form.instance,
                                      departments=self.form.cleaned_data.get("departments"))


class HospitalCreateView(_HospitalSaveMixin, CreateView):
    pass


class HospitalEditView(_HospitalSaveMixin, EditView):
    pass


class HospitalViewSet(ModelViewSet):
    model = Hospital
    icon = "site"
    menu_label = gettext_lazy("Hospitals")
    list_display = ["name", "city", "province", Column("level_grade", label=gettext_lazy("level"), sort_key="level"),
                    "hospital_type", "beds", "status"]
    filterset_class = HospitalFilterSet
    search_fields = ["name", "normalised_name", "aliases", "pinyin_initials", "city", "province", "district", "address"]
    search_backend_name = None
    index_view_class = LocalIndexView  # exports with the level, grade and type labels, not their codes
    list_export = ["name", "aliases", "province", "city", "district", "level", "grade", "hospital_type", "beds",
                   "yearly_outpatient_visits", "address", "latitude", "longitude", "status"]
    export_filename = "hospitals"
    inspect_view_enabled = True
    copy_view_enabled = False
    add_view_class = HospitalCreateView
    edit_view_class = HospitalEditView
    ordering = ["province", "city", "name"]

    def get_form_class(self, for_update=False):
        return HospitalForm


class DepartmentForm(WagtailAdminModelForm):
    class Meta:
        model = Department
        fields = ["name", "name_en", "code"]
        help_texts = {"code": gettext_lazy("Lower-case letters, digits and hyphens, e.g. endocrinology.")}

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError(_("This field is required."))
        return name


class DepartmentViewSet(ModelViewSet):
    model = Department
    icon = "list-ul"
    menu_label = gettext_lazy("Departments")
    list_display = ["name", "name_en", "code"]
    search_fields = ["name", "name_en", "code"]
    search_backend_name = None
    copy_view_enabled = False
    ordering = ["name"]

    def get_form_class(self, for_update=False):
        return DepartmentForm


class TerritoryForm(WagtailAdminModelForm):
    reps = forms.ModelMultipleChoiceField(
        label=gettext_lazy("reps"), required=False, widget=forms.CheckboxSelectMultiple,
        queryset=User.objects.none(), help_text=gettext_lazy("Only users with the sales rep role can be chosen."),
    )
    hospitals = forms.ModelMultipleChoiceField(
        label=gettext_lazy("hospitals"), required=False, queryset=Hospital.objects.none(),
        widget=forms.SelectMultiple(attrs={"size": 15}),
        help_text=gettext_lazy("Active hospitals. Hold Ctrl (⌘ on a Mac) to choose several."),
    )

    class Meta:
        model = Territory
        fields = ["name", "code", "reps", "hospitals"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reps"].queryset = capability_holders(Capability.COVER_TERRITORY, superusers=False).order_by(
            "display_name", "username").distinct()
        self.fields["hospitals"].queryset = Hospital.objects.filter(status=Hospital.Status.ACTIVE).order_by(
            "province", "city", "name")


class _TerritorySaveMixin(ServiceSaveMixin):
    def call_service(self):
        data = self.form.cleaned_data
        return territory_save(actor=self.request.user, territory=self.form.instance, reps=data["reps"],
                              hospitals=data["hospitals"])


class TerritoryCreateView(_TerritorySaveMixin, CreateView):
    pass


class TerritoryEditView(_TerritorySaveMixin, EditView):
    pass


class TerritoryViewSet(ModelViewSet):
    model = Territory
    icon = "globe"
    menu_label = gettext_lazy("Territories")
    add_view_class = TerritoryCreateView
    edit_view_class = TerritoryEditView
    list_display = ["name", "code"]
    search_fields = ["name", "code"]
    search_backend_name = None
    copy_view_enabled = False
    inspect_view_enabled = True
    ordering = ["name"]

    def get_form_class(self, for_update=False):
        return TerritoryForm


class ProposalListView(_RoleRequired, WagtailAdminTemplateMixin, TemplateView):
    template_name = "members/hospitals/admin/proposals.html"
    page_title = gettext_lazy("Hospital proposals")
    header_icon = "help"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        proposals = (Hospital.objects.filter(status=Hospital.Status.PROPOSED).select_related("proposed_by")
                     .annotate(doctor_count=Count("doctors")).order_by("created_at", "pk"))
        context["proposals"] = proposals
        return context


class RejectForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=services.MAX_REASON_LENGTH,
                             widget=forms.Textarea(attrs={"rows": 3}))


class MergeForm(forms.Form):
    into = forms.ModelChoiceField(label=gettext_lazy("Merge into"), queryset=Hospital.objects.none(),
                                  widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["into"].queryset = Hospital.objects.filter(status=Hospital.Status.ACTIVE)


class ProposalDetailView(_RoleRequired, WagtailAdminTemplateMixin, TemplateView):
    template_name = "members/hospitals/admin/proposal.html"
    header_icon = "help"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.proposal = None

    def dispatch(self, request, *args, **kwargs):
        if can(request.user, self.capability):
            self.proposal = get_object_or_404(Hospital.objects.select_related("proposed_by"), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return _("Hospital proposal")

    def get_page_subtitle(self):
        return self.proposal.name

    def get_context_data(self, reject_form=None, merge_error=None, **kwargs):
        context = super().get_context_data(**kwargs)
        search = self.request.GET.get("q", "")
        context.update(
            proposal=self.proposal,
            is_open=self.proposal.status == Hospital.Status.PROPOSED,
            doctors=DoctorProfile.objects.filter(hospital=self.proposal).select_related("department")[:50],
            candidates=selectors.hospital_duplicates_of(self.proposal),
            search=search[:50],
            search_results=selectors.hospital_search(q=search, limit=10) if search.strip() else [],
            reject_form=reject_form or RejectForm(),
            merge_error=merge_error,
            index_url=reverse("hospital_proposals:index"),
        )
        return context

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action")
        try:
            if action == "approve":
                services.hospital_proposal_approve(actor=request.user, hospital_id=self.proposal.pk)
                messages.success(request, _("“%(name)s” is now an active hospital.") % {"name": self.proposal.name})
            elif action == "reject":
                form = RejectForm(request.POST)
                if not form.is_valid():
                    return self.render_to_response(self.get_context_data(reject_form=form), status=400)
                services.hospital_proposal_reject(actor=request.user, hospital_id=self.proposal.pk,
                                                  reason=form.cleaned_data["reason"])
                messages.success(request, _("The proposal “%(name)s” was rejected.") % {"name": self.proposal.name})
            elif action == "merge":
                form = MergeForm(request.POST)
                if not form.is_valid():
                    return self.render_to_response(
                        self.get_context_data(merge_error=_("Choose an active hospital to merge into.")), status=400)
                target = services.hospital_proposal_merge(actor=request.user, hospital_id=self.proposal.pk,
                                                          into_id=form.cleaned_data["into"].pk)
                messages.success(request, _("“%(name)s” was merged into “%(target)s”.")
                                 % {"name": self.proposal.name, "target": target.name})
            else:
                return self.render_to_response(self.get_context_data(), status=400)
        except DomainError as exc:
            messages.error(request, exc.message)
            return self.render_to_response(self.get_context_data(), status=exc.status)
        return redirect("hospital_proposals:index")


class ProposalViewSet(ViewSet):
    name = "hospital_proposals"
    icon = "help"
    menu_label = gettext_lazy("Hospital proposals")

    @property
    def menu_item_class(self):
        return _capability_menu_item_class(EDITORS)

    def get_urlpatterns(self):
        return [
            path("", ProposalListView.as_view(), name="index"),
            path("<int:pk>/", ProposalDetailView.as_view(), name="detail"),
        ]


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Excel (.xlsx) or CSV file"),
        help_text=gettext_lazy("At most 10 MB and 50,000 rows. CSV in UTF-8 or GBK. Use the template's columns."),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv,text/csv,application/vnd.openxmlformats-"
                                                         "officedocument.spreadsheetml.sheet"}),
    )

    def clean_file(self):
        uploaded = self.cleaned_data["file"]
        if uploaded.size > importers.MAX_FILE_BYTES:
            raise forms.ValidationError(_("The file is larger than 10 MB."))
        return uploaded


class ImportListView(_RoleRequired, WagtailAdminTemplateMixin, TemplateView):
    template_name = "members/hospitals/admin/imports.html"
    page_title = gettext_lazy("Hospital imports")
    header_icon = "upload"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["imports"] = HospitalImport.objects.select_related("created_by").order_by("-created_at")[:50]
        context["upload_url"] = reverse("hospital_imports:upload")
        context["template_url"] = reverse("hospital_imports:template")
        return context


class ImportUploadView(_RoleRequired, WagtailAdminTemplateMixin, FormView):
    template_name = "members/hospitals/admin/import_upload.html"
    form_class = ImportUploadForm
    page_title = gettext_lazy("Upload hospitals")
    header_icon = "upload"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["template_url"] = reverse("hospital_imports:template")
        context["cancel_url"] = reverse("hospital_imports:index")
        return context

    def form_valid(self, form):
        try:
            hospital_import = services.hospital_import_create(actor=self.request.user,
                                                              uploaded=form.cleaned_data["file"])
        except DomainError as exc:
            form.add_error("file", exc.message)
            return self.form_invalid(form)
        messages.success(self.request, _("Uploaded. The file is being checked."))
        return redirect("hospital_imports:detail", pk=hospital_import.pk)


class ImportDetailView(_RoleRequired, WagtailAdminTemplateMixin, TemplateView):
    template_name = "members/hospitals/admin/import_detail.html"
    header_icon = "upload"

    def get_page_title(self):
        return _("Hospital import")

    def get_page_subtitle(self):
        return self.hospital_import.original_name

    def dispatch(self, request, *args, **kwargs):
        if can(request.user, self.capability):
            self.hospital_import = get_object_or_404(HospitalImport, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        hospital_import = self.hospital_import
        context.update(
            hospital_import=hospital_import,
            progress=services.hospital_import_progress(hospital_import),
            status_url=reverse("hospital_imports:status", args=[hospital_import.pk]),
            upload_url=reverse("hospital_imports:upload"),
            index_url=reverse("hospital_imports:index"),
            can_import=hospital_import.status == HospitalImport.Status.VALID,
            preview_headers=[_("Line"), *[zh for _f, zh, _en, _r in importers.COLUMNS[:10]], _("Departments")],
            preview_rows=[_labelled_preview_row(row) for row in hospital_import.preview or []],
            level_names=dict(Hospital.Level.choices),
            type_names=dict(Hospital.Type.choices),
        )
        return context

    def post(self, request, *args, **kwargs):
        try:
            services.hospital_import_start(actor=request.user, import_id=self.hospital_import.pk)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("hospital_imports:detail", pk=self.hospital_import.pk)
        messages.success(request, _("Import started."))
        return redirect("hospital_imports:detail", pk=self.hospital_import.pk)


def import_status(request, pk):
    """Small JSON for the progress bar's polling."""
    if not can(request.user, EDITORS):
        raise PermissionDenied
    hospital_import = get_object_or_404(HospitalImport, pk=pk)
    return JsonResponse(services.hospital_import_progress(hospital_import))


def import_template(request):
    if not can(request.user, EDITORS):
        raise PermissionDenied
    response = HttpResponse(
        importers.template_workbook(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = "attachment; filename=\"hospital-import-template.xlsx\""
    return response


class ImportViewSet(ViewSet):
    name = "hospital_imports"
    icon = "upload"
    menu_label = gettext_lazy("Hospital imports")

    @property
    def menu_item_class(self):
        return _capability_menu_item_class(EDITORS)

    def get_urlpatterns(self):
        return [
            path("", ImportListView.as_view(), name="index"),
            path("upload/", ImportUploadView.as_view(), name="upload"),
            path("template.xlsx", import_template, name="template"),
            path("<int:pk>/", ImportDetailView.as_view(), name="detail"),
            path("<int:pk>/status/", import_status, name="status"),
        ]


class HospitalViewSetGroup(ViewSetGroup):
    menu_label = gettext_lazy("Hospitals")
    menu_icon = "site"
    menu_order = 250
    items = (
        HospitalViewSet("hospitals"),
        ProposalViewSet(),
        ImportViewSet(),
        DepartmentViewSet("departments"),
        TerritoryViewSet("territories"),
    )


@hooks.register("register_admin_viewset")
def register_hospital_viewsets():
    return HospitalViewSetGroup()


def _labelled_preview_row(row: dict) -> dict:
    """A preview row as people read it: level, grade and type by their labels (the row stores the codes)."""
    labels = {name: dict(Hospital._meta.get_field(name).choices) for name in ("level", "grade", "hospital_type")}
    return {**row, **{name: str(labels[name].get(row.get(name), row.get(name) or "")) for name in labels}}
