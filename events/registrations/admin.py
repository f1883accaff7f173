"""Wagtail admin: a meeting's registrations (filter, approve or reject, staff invitation, export) and its quota
allocation (名额分配: open, per region, per rep, with invitation links).

Marketing and admins manage; other staff read (events.registrations.selectors.can_manage_registrations). Views
parse, call one service or selector, render.
"""

import csv

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.generic import TemplateView, View
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets import Button

from engage.core.errors import DomainError
from engage.core.roles import Capability, capability_holders
from events.pages.admin import MEETINGS_MENU_HOOK
from events.pages.models import EventPage
from events.pages.provinces import PROVINCES
from events.registrations.models import Quota, Registration
from events.registrations.selectors import (
    can_manage_registrations,
    can_view_registrations,
    doctor_lookup,
    events_for_registration_admin,
    quotas_of_event,
    registrations_for_event,
)
from events.registrations.services import (
    quota_allocate,
    quota_delete,
    quota_open_sync,
    quota_resize,
    registration_approve,
    registration_reject,
    registration_staff_invite,
)
from members.accounts.models import User


class ViewerMixin:
    def dispatch(self, request, *args, **kwargs):
        if not can_view_registrations(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class ManagerMixin:
    def dispatch(self, request, *args, **kwargs):
        if not can_manage_registrations(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class EventMixin:
    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.event = EventPage.objects.filter(pk=kwargs["event_id"]).first()
        if self.event is None:
            raise Http404


class AdminPage(ViewerMixin, EventMixin, WagtailAdminTemplateMixin, TemplateView):
    def get_breadcrumbs_items(self):
        return [*super().get_breadcrumbs_items(),
                {"url": reverse("events_registrations_events"), "label": _("Registrations")},
                {"url": "", "label": self.get_page_title()}]


class EventListView(ViewerMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "events/registrations/admin/events.html"
    page_title = _("Registrations")
    header_icon = "group"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "events": events_for_registration_admin()[:200]}


class InviteForm(forms.Form):
    doctor = forms.CharField(label=_("Doctor"), max_length=100, strip=True,
                             help_text=_("Mobile number, user name or email of the doctor's account."))


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "approve"), ("reject", "reject")])
    reason = forms.CharField(max_length=300, required=False, strip=True)


class RegistrationListView(AdminPage):
    template_name = "events/registrations/admin/registrations.html"
    header_icon = "group"

    def get_page_title(self):
        return _("Registrations: %(title)s") % {"title": self.event.title}

    def get_context_data(self, **kwargs):
        status = self.request.GET.get("status") or ""
        registrations = registrations_for_event(event=self.event, status=status)
        return {**super().get_context_data(**kwargs), "event": self.event, "registrations": registrations[:1000],
                "status": status, "statuses": Registration.Status.choices,
                "invite_form": InviteForm(), "can_manage": can_manage_registrations(self.request.user)}


class DecisionView(ManagerMixin, View):
    def post(self, request, registration_id: int):
        registration = get_object_or_404(Registration, pk=registration_id)
        form = DecisionForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose approve or reject."))
        else:
            try:
                if form.cleaned_data["decision"] == "approve":
                    registration_approve(registration=registration, actor=request.user)
                    messages.success(request, _("Registration approved."))
                else:
                    registration_reject(registration=registration, actor=request.user,
                                        reason=form.cleaned_data["reason"])
                    messages.success(request, _("Registration rejected."))
            except DomainError as error:
                messages.error(request, error.message)
        return redirect("events_registrations", event_id=registration.event_id)


class InviteView(ManagerMixin, EventMixin, View):
    def post(self, request, event_id: int):
        form = InviteForm(request.POST)
        doctor = doctor_lookup(query=form.data.get("doctor", "")) if form.is_valid() else None
        if doctor is None:
            messages.error(request, _("No account with this mobile number, user name or email."))
        else:
            try:
                registration = registration_staff_invite(event=self.event, doctor=doctor, actor=request.user)
                messages.success(request, _("%(doctor)s is registered (%(status)s).")
                                 % {"doctor": doctor, "status": registration.get_status_display()})
            except DomainError as error:
                messages.error(request, error.message)
        return redirect("events_registrations", event_id=event_id)


class ExportView(ViewerMixin, EventMixin, View):
    """The meeting's registrations as CSV (UTF-8 with BOM, opens in Excel)."""

    def get(self, request, event_id: int):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="registrations-{event_id}.csv"'
        response.write("\ufeff")
        writer = csv.writer(response)
        writer.writerow([str(pgettext_lazy("person", "Name")), str(_("Hospital")), str(_("Department")),
                         str(pgettext_lazy("doctor", "Title")),
                         str(_("Status")), str(_("Source")), str(_("Quota")), str(_("Registered")),
                         str(_("Frequency warning"))])
        for r in registrations_for_event(event=self.event, status=request.GET.get("status")).iterator():
            profile = getattr(r.doctor, "doctor_profile", None)
            writer.writerow([_safe(profile.real_name if profile else str(r.doctor)),
                             _safe(profile.hospital.name if profile else ""),
                             _safe(profile.department.name if profile else ""),
                             profile.get_title_display() if profile else "", r.get_status_display(),
                             r.get_source_display(), _safe(str(r.quota or "")),
                             timezone.localtime(r.created_at).strftime("%Y-%m-%d %H:%M"),
                             _safe(r.frequency_warning)])
        return response


def _safe(value: str) -> str:
    """No spreadsheet formulas from user-entered text (CSV injection)."""
    value = str(value or "")
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _rep_choices():
    reps = capability_holders(Capability.COVER_TERRITORY, superusers=False).order_by("display_name", "username")
    return [("", "—")] + [(str(u.pk), u.display_name or u.username) for u in reps[:500]]


class AllocateForm(forms.Form):
    seats = forms.IntegerField(label=_("Seats"), min_value=1, max_value=100_000)
    province = forms.ChoiceField(label=_("Region"), required=False, choices=[("", "—")])
    rep = forms.ChoiceField(label=_("Rep"), required=False, choices=[("", "—")])
    label = forms.CharField(label=pgettext_lazy("object name", "Name"), max_length=100, required=False, strip=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["province"].choices = [("", "—")] + [(p, p) for p in PROVINCES]
        self.fields["rep"].choices = _rep_choices()

    def clean(self):
        data = super().clean()
        if bool(data.get("province")) == bool(data.get("rep")):
            raise forms.ValidationError(_("Choose either a region or a rep."))
        return data


class ResizeForm(forms.Form):
    seats = forms.IntegerField(min_value=0, max_value=100_000)


class QuotaView(AdminPage):
    template_name = "events/registrations/admin/quotas.html"
    header_icon = "table"

    def get_page_title(self):
        return _("Quota allocation: %(title)s") % {"title": self.event.title}

    def get_context_data(self, **kwargs):
        quotas = list(quotas_of_event(event=self.event))
        for quota in quotas:
            if quota.invite_code:
                quota.invite_url = self.request.build_absolute_uri(
                    reverse("events:invitation", args=[quota.invite_code]))
        return {**super().get_context_data(**kwargs), "event": self.event, "quotas": quotas,
                "form": kwargs.get("form") or AllocateForm(), "can_manage": can_manage_registrations(self.request.user),
                "total_seats": sum(q.seats for q in quotas), "total_taken": sum(q.taken for q in quotas)}

    def get(self, request, *args, **kwargs):
        if not Quota.objects.filter(event=self.event, kind=Quota.Kind.OPEN).exists() and self.event.live:
            quota_open_sync(event=self.event, actor=request.user, strict=False)
        return super().get(request, *args, **kwargs)

    def post(self, request, event_id: int):
        if not can_manage_registrations(request.user):
            raise PermissionDenied
        form = AllocateForm(request.POST)
        if form.is_valid():
            rep = User.objects.filter(pk=form.cleaned_data["rep"]).first() if form.cleaned_data["rep"] else None
            try:
                quota_allocate(event=self.event, actor=request.user, seats=form.cleaned_data["seats"],
                               province=form.cleaned_data["province"], rep=rep, label=form.cleaned_data["label"])
                messages.success(request, _("Seats allocated."))
                return redirect("events_registration_quotas", event_id=event_id)
            except DomainError as error:
                form.add_error(None, error.message)
        return self.render_to_response(self.get_context_data(form=form))


class QuotaChangeView(ManagerMixin, View):
    def post(self, request, quota_id: int):
        quota = get_object_or_404(Quota, pk=quota_id)
        try:
            if request.POST.get("action") == "delete":
                quota_delete(quota=quota, actor=request.user)
                messages.success(request, _("Quota removed; its seats went back to the open quota."))
            else:
                form = ResizeForm(request.POST)
                if not form.is_valid():
                    raise DomainError("invalid_seats", _("Enter a number of seats."))
                quota_resize(quota=quota, actor=request.user, seats=form.cleaned_data["seats"])
                messages.success(request, _("Quota changed."))
        except DomainError as error:
            messages.error(request, error.message)
        return redirect("events_registration_quotas", event_id=quota.event_id)


@hooks.register("register_admin_urls")
def register_registration_urls():
    return [
        path("events/registrations/", EventListView.as_view(), name="events_registrations_events"),
        path("events/<int:event_id>/registrations/", RegistrationListView.as_view(), name="events_registrations"),
        path("events/<int:event_id>/registrations/invite/", InviteView.as_view(), name="events_registration_invite"),
        path("events/<int:event_id>/registrations/export.csv", ExportView.as_view(),
             name="events_registrations_export"),
        path("events/registrations/<int:registration_id>/decide/", DecisionView.as_view(),
             name="events_registration_decide"),
        path("events/<int:event_id>/quotas/", QuotaView.as_view(), name="events_registration_quotas"),
        path("events/quotas/<int:quota_id>/", QuotaChangeView.as_view(), name="events_registration_quota_change"),
    ]


class ViewerMenuItem(MenuItem):
    def is_shown(self, request):
        return can_view_registrations(request.user)


@hooks.register(MEETINGS_MENU_HOOK)
def register_registrations_menu_item():
    return ViewerMenuItem(_("Registrations and quotas"), reverse("events_registrations_events"), icon_name="group",
                          order=300)


@hooks.register("register_page_header_buttons")
def registration_buttons(page, user, view_name, next_url=None):
    """A meeting page's header menu links to its registrations and quota allocation."""
    if isinstance(page.specific_deferred, EventPage) and can_view_registrations(user):
        yield Button(_("Registrations"), reverse("events_registrations", args=[page.pk]), icon_name="group",
                     priority=70)
        yield Button(_("Quota allocation"), reverse("events_registration_quotas", args=[page.pk]),
                     icon_name="table", priority=71)
