"""Wagtail admin: the segmentation matrix, cell lists, settings, indicators and the recompute button.

Views only parse, call one selector or service, and render; who may do what is decided in
members/selectors_segments.py.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView, View
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from engage.core.errors import DomainError
from members.hospitals.models import TherapyArea
from members.profiles.models import DoctorProfile
from members.segments.models import DoctorIndicators, KolTier, Potential, SegmentationConfig, Support
from members.segments.selectors import (
    can_edit_indicators,
    can_edit_segmentation_config,
    can_request_recompute,
    can_view_segments,
    segment_cell_doctors,
    segment_matrix,
    segmentation_runs,
)
from members.segments.services import (
    CITY_GROUPS,
    CUTOFF_KEYS,
    DEFAULT_CUTOFFS,
    DEFAULT_THRESHOLDS,
    DEFAULT_WEIGHTS,
    GRADED,
    GROUP_LABELS,
    INDICATOR_LABELS,
    INDICATORS,
    MAX_INDICATOR,
    MAX_SETTING,
    SUPPORT_KINDS,
    doctor_indicators_save,
    segmentation_config_problems,
    segmentation_config_update,
    segments_recompute_request,
)

CELLS = {p + s for p in Potential.values for s in Support.values}
PER_PAGE = 50


class RoleRequiredMixin:
    """Wagtail's URL wrapper already refuses people without admin access; this narrows to the roles allowed."""

    allowed = staticmethod(can_view_segments)

    def dispatch(self, request, *args, **kwargs):
        if not self.allowed(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


def _area_or_404(code: str) -> TherapyArea:
    return get_object_or_404(TherapyArea, code=code)


def _matrix_url(area: TherapyArea) -> str:
    return reverse("segments_matrix") + f"?area={area.code}"


class MatrixView(RoleRequiredMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "members/segments/admin/matrix.html"
    page_title = _("Segmentation")
    header_icon = "table"

    def get_breadcrumbs_items(self):
        return [*super().get_breadcrumbs_items(), {"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        areas = list(TherapyArea.objects.order_by("name"))
        code = self.request.GET.get("area", "")
        area = next((a for a in areas if a.code == code), areas[0] if areas else None)
        user = self.request.user
        context.update(
            areas=areas,
            area=area,
            matrix=segment_matrix(therapy_area=area) if area else None,
            runs=segmentation_runs(),
            can_recompute=can_request_recompute(user),
            can_edit_config=can_edit_segmentation_config(user),
            potentials=Potential.values,
            supports=Support.values,
        )
        return context


class CellView(RoleRequiredMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "members/segments/admin/cell.html"
    header_icon = "user"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.area = _area_or_404(kwargs["area"])
        if kwargs["cell"] not in CELLS:
            raise Http404
        self.cell = kwargs["cell"]

    def get_page_title(self):
        return _("%(area)s: cell %(cell)s") % {"area": self.area, "cell": self.cell}

    def get_breadcrumbs_items(self):
        return [*super().get_breadcrumbs_items(),
                {"url": _matrix_url(self.area), "label": _("Segmentation")},
                {"url": "", "label": self.get_page_title()}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        kol = self.request.GET.get("kol", "")
        if kol not in KolTier.values:
            kol = ""
        doctors = segment_cell_doctors(therapy_area=self.area, potential=self.cell[0], support=self.cell[1],
                                       kol_tier=kol or None)
        paginator = Paginator(doctors, PER_PAGE)
        page = paginator.get_page(self.request.GET.get("p"))
        context.update(area=self.area, cell=self.cell, page_obj=page, kol=kol, kol_tiers=KolTier.choices,
                       elided_page_range=paginator.get_elided_page_range(page.number))
        return context


class RecomputeView(RoleRequiredMixin, View):
    allowed = staticmethod(can_request_recompute)
    http_method_names = ["post"]

    def post(self, request):
        if segments_recompute_request(actor=request.user):
            messages.success(request, _("Recompute queued: the matrix updates when the run finishes."))
        else:
            messages.info(request, _("A recompute is already queued; it covers your request."))
        area = TherapyArea.objects.filter(code=request.POST.get("area", "")).first()
        return redirect(_matrix_url(area) if area else reverse("segments_matrix"))


def _number(label, maximum):
    return forms.IntegerField(label=label, min_value=0, max_value=maximum)


class SegmentationConfigForm(forms.Form):
    """One number field per threshold, weight and cut-off, so staff never edit JSON by hand."""

    def __init__(self, *args, config: SegmentationConfig | None = None, **kwargs):
        thresholds = config.potential_thresholds if config else DEFAULT_THRESHOLDS
        weights = config.support_weights if config else DEFAULT_WEIGHTS
        cutoffs = config.support_cutoffs if config else DEFAULT_CUTOFFS
        super().__init__(*args, **kwargs)
        for group in CITY_GROUPS:
            for grade in GRADED:
                for name in INDICATORS:
                    key = f"t_{group}_{grade}_{name}"
                    self.fields[key] = _number(f"{GROUP_LABELS[group]} {grade}: {INDICATOR_LABELS[name]}",
                                               MAX_SETTING)
                    self.initial.setdefault(key, _dig(thresholds, group, grade, name))
        for kind in SUPPORT_KINDS:
            self.fields[f"w_{kind}"] = _number(kind.label, MAX_SETTING)
            self.initial.setdefault(f"w_{kind}", _dig(weights, str(kind)))
        for key in CUTOFF_KEYS:
            self.fields[f"c_{key}"] = _number(_("Score for support %(grade)s") % {"grade": key}, MAX_SETTING)
            self.initial.setdefault(f"c_{key}", _dig(cutoffs, key))

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        problems, _cleaned = segmentation_config_problems(**self.as_config(data))
        for problem in problems:
            self.add_error(None, problem)
        return data

    @staticmethod
    def as_config(data) -> dict:
        return {
            "potential_thresholds": {
                group: {grade: {name: data[f"t_{group}_{grade}_{name}"] for name in INDICATORS} for grade in GRADED}
                for group in CITY_GROUPS
            },
            "support_weights": {str(kind): data[f"w_{kind}"] for kind in SUPPORT_KINDS},
            "support_cutoffs": {key: data[f"c_{key}"] for key in CUTOFF_KEYS},
        }

    def threshold_rows(self):
        """[(indicator label, [bound field per big5 A, big5 B, other A, other B])] for the template."""
        return [
            (INDICATOR_LABELS[name], [self[f"t_{group}_{grade}_{name}"] for group in CITY_GROUPS for grade in GRADED])
            for name in INDICATORS
        ]

    def weight_fields(self):
        return [self[f"w_{kind}"] for kind in SUPPORT_KINDS]

    def cutoff_fields(self):
        return [self[f"c_{key}"] for key in CUTOFF_KEYS]


def _dig(data, *keys):
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


class ConfigView(RoleRequiredMixin, WagtailAdminTemplateMixin, TemplateView):
    """Marketing and compliance read the settings; admin changes them."""

    template_name = "members/segments/admin/config.html"
    header_icon = "cogs"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.area = _area_or_404(kwargs["area"])
        self.config = SegmentationConfig.objects.filter(therapy_area=self.area).first()

    def get_page_title(self):
        return _("Segmentation settings: %(area)s") % {"area": self.area}

    def get_breadcrumbs_items(self):
        return [*super().get_breadcrumbs_items(),
                {"url": _matrix_url(self.area), "label": _("Segmentation")},
                {"url": "", "label": self.get_page_title()}]

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        can_edit = can_edit_segmentation_config(self.request.user)
        form = form or SegmentationConfigForm(config=self.config)
        if not can_edit:
            for bound in form.fields.values():
                bound.disabled = True
        context.update(area=self.area, form=form, can_edit=can_edit, config=self.config,
                       group_grades=[(GROUP_LABELS[g], grade) for g in CITY_GROUPS for grade in GRADED])
        return context

    def post(self, request, *args, **kwargs):
        if not can_edit_segmentation_config(request.user):
            raise PermissionDenied
        form = SegmentationConfigForm(request.POST, config=self.config)
        if form.is_valid():
            try:
                segmentation_config_update(therapy_area=self.area, actor=request.user,
                                           **form.as_config(form.cleaned_data))
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Settings saved; the segments of %(area)s are being recomputed.")
                                 % {"area": self.area})
                return redirect(_matrix_url(self.area))
        return self.render_to_response(self.get_context_data(form=form), status=400)


class IndicatorsForm(forms.Form):
    beds_in_charge = forms.IntegerField(label=_("Beds in charge"), min_value=0, max_value=MAX_INDICATOR)
    weekly_outpatients = forms.IntegerField(label=_("Weekly outpatient visits"), min_value=0,
                                            max_value=MAX_INDICATOR)
    weekly_target_patients = forms.IntegerField(label=_("Weekly target patients"), min_value=0,
                                                max_value=MAX_INDICATOR)
    kol_tier = forms.ChoiceField(label=_("KOL tier"), choices=KolTier.choices)


class IndicatorsView(RoleRequiredMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "members/segments/admin/indicators.html"
    header_icon = "edit"
    allowed = staticmethod(can_edit_indicators)

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.area = _area_or_404(kwargs["area"])
        self.profile = get_object_or_404(DoctorProfile.objects.select_related("user", "hospital", "department"),
                                         user_id=kwargs["doctor_id"])
        self.indicators = DoctorIndicators.objects.filter(doctor_id=self.profile.user_id,
                                                          therapy_area=self.area).first()

    def get_page_title(self):
        return _("Indicators of %(doctor)s in %(area)s") % {"doctor": self.profile.real_name, "area": self.area}

    def get_breadcrumbs_items(self):
        return [*super().get_breadcrumbs_items(),
                {"url": reverse("doctor360_detail", args=[self.profile.user_id]), "label": self.profile.real_name},
                {"url": "", "label": self.get_page_title()}]

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        if form is None:
            initial = {name: getattr(self.indicators, name) for name in (*INDICATORS, "kol_tier")} \
                if self.indicators else {"kol_tier": KolTier.NONE}
            form = IndicatorsForm(initial=initial)
        context.update(area=self.area, profile=self.profile, form=form, indicators=self.indicators)
        return context

    def post(self, request, *args, **kwargs):
        form = IndicatorsForm(request.POST)
        if form.is_valid():
            try:
                doctor_indicators_save(doctor=self.profile.user, therapy_area=self.area, actor=request.user,
                                       **form.cleaned_data)
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Indicators saved and the doctor regraded."))
                return redirect(reverse("doctor360_detail", args=[self.profile.user_id]) + "#segments")
        return self.render_to_response(self.get_context_data(form=form), status=400)


class SegmentationMenuItem(MenuItem):
    def is_shown(self, request):
        return can_view_segments(request.user)


@hooks.register("register_admin_urls")
def register_segment_urls():
    return [
        path("segmentation/", MatrixView.as_view(), name="segments_matrix"),
        path("segmentation/recompute/", RecomputeView.as_view(), name="segments_recompute"),
        path("segmentation/<slug:area>/cell/<str:cell>/", CellView.as_view(), name="segments_cell"),
        path("segmentation/<slug:area>/settings/", ConfigView.as_view(), name="segments_config"),
        path("segmentation/<slug:area>/indicators/<int:doctor_id>/", IndicatorsView.as_view(),
             name="segments_indicators"),
    ]


@hooks.register("register_admin_menu_item")
def register_segment_menu_item():
    return SegmentationMenuItem(_("Segmentation"), reverse("segments_matrix"), name="segmentation",
                                icon_name="table", order=310)
