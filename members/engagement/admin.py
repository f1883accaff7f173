"""Wagtail admin: the doctor 360° view — a searchable doctor list and one page per doctor with profile,
verification history, consents, segments, points and a filterable engagement timeline."""

from django import forms
from django.core.paginator import Paginator
from django.http import Http404
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.generic import TemplateView
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from engage.core.widgets import DateInput
from engage.messaging.selectors import messages_of
from engage.messaging.services import HELD
from members.engagement.models import EngagementKind
from members.hospitals.models import TherapyArea
from members.segments.admin import RoleRequiredMixin
from members.segments.selectors import (
    can_edit_indicators,
    can_view_doctor_360,
    doctor_360,
    doctor_timeline,
    doctors_search,
)
from members.wechat.selectors import wechat_binding, wechat_enabled

PER_PAGE = 50
TIMELINE_PER_PAGE = 25


class DoctorSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": _("Name, mobile, licence number or hospital")}))


class DoctorListView(RoleRequiredMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "members/engagement/admin/doctor360_list.html"
    page_title = _("Doctor 360°")
    header_icon = "group"
    allowed = staticmethod(can_view_doctor_360)

    def get_breadcrumbs_items(self):
        return [*super().get_breadcrumbs_items(), {"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = DoctorSearchForm(self.request.GET or None)
        q = form.cleaned_data["q"] if form.is_valid() else ""
        paginator = Paginator(doctors_search(q=q), PER_PAGE)
        page = paginator.get_page(self.request.GET.get("p"))
        context.update(form=form if form.is_bound else DoctorSearchForm(), q=q, page_obj=page,
                       elided_page_range=paginator.get_elided_page_range(page.number))
        return context


class TimelineFilterForm(forms.Form):
    kind = forms.MultipleChoiceField(label=_("Kind"), required=False, choices=EngagementKind.choices,
                                     widget=forms.CheckboxSelectMultiple)
    date_from = forms.DateField(label=pgettext_lazy("date range", "From"), required=False,
                                 widget=DateInput())
    date_to = forms.DateField(label=pgettext_lazy("date range", "To"), required=False,
                               widget=DateInput())

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data


class DoctorDetailView(RoleRequiredMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "members/engagement/admin/doctor360_detail.html"
    header_icon = "user"
    allowed = staticmethod(can_view_doctor_360)

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.view = None

    def get(self, request, *args, **kwargs):
        self.view = doctor_360(doctor_id=kwargs["doctor_id"])
        if self.view is None:
            raise Http404
        return super().get(request, *args, **kwargs)

    def get_page_title(self):
        return _("Doctor 360°: %(name)s") % {"name": self.view.profile.real_name}

    def get_breadcrumbs_items(self):
        return [*super().get_breadcrumbs_items(),
                {"url": reverse("doctor360_list"), "label": _("Doctor 360°")},
                {"url": "", "label": self.view.profile.real_name}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        view = self.view
        form = TimelineFilterForm(self.request.GET if self._filtering() else None)
        filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
        events = doctor_timeline(doctor=view.doctor, kinds=filters.get("kind") or None,
                                 date_from=filters.get("date_from"), date_to=filters.get("date_to"))
        paginator = Paginator(events, TIMELINE_PER_PAGE)
        page = paginator.get_page(self.request.GET.get("p"))
        segments = {s.therapy_area_id: s for s in view.segments}
        area_rows = [
            {"area": area, "segment": segments.get(area.pk), "indicators": view.indicators.get(area.pk),
             "changes": [c for c in view.changes if c.therapy_area_id == area.pk]}
            for area in view.areas
        ]
        context.update(
            v=view, profile=view.profile, doctor=view.doctor, area_rows=area_rows,
            filter_form=form if form.is_bound else TimelineFilterForm(), page_obj=page,
            elided_page_range=paginator.get_elided_page_range(page.number),
            can_edit_indicators=can_edit_indicators(self.request.user),
            wechat=wechat_binding(user=view.doctor), wechat_enabled=wechat_enabled(),
            outbox_messages=messages_of(user=view.doctor), held_code=HELD,
        )
        if context["can_edit_indicators"]:
            shown = {area.pk for area in view.areas}
            context["other_areas"] = [a for a in TherapyArea.objects.order_by("name") if a.pk not in shown]
        return context

    def _filtering(self) -> bool:
        return any(key in self.request.GET for key in ("kind", "date_from", "date_to"))


class Doctor360MenuItem(MenuItem):
    def is_shown(self, request):
        return can_view_doctor_360(request.user)


@hooks.register("register_admin_urls")
def register_doctor360_urls():
    return [
        path("doctor-360/", DoctorListView.as_view(), name="doctor360_list"),
        path("doctor-360/<int:doctor_id>/", DoctorDetailView.as_view(), name="doctor360_detail"),
    ]


@hooks.register("register_admin_menu_item")
def register_doctor360_menu_item():
    return Doctor360MenuItem(_("Doctor 360°"), reverse("doctor360_list"), name="doctor-360", icon_name="group",
                             order=300)
