"""Wagtail admin: the verification queue. Marketing, compliance and admin staff see pending profiles oldest
first, open one to compare the certificate with the profile, and verify, reject or ask for more information.
They also mark verified doctors as KOL / speaker. Every write goes through members.profiles.services."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from engage.core.errors import DomainError
from engage.core.roles import Capability, can
from members.profiles import services as profile_services
from members.profiles.models import DoctorProfile

PER_PAGE = 50


def can_verify(user) -> bool:
    return can(user, Capability.VERIFY_DOCTORS)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[
        (DoctorProfile.Status.VERIFIED, gettext_lazy("Verify")),
        (DoctorProfile.Status.REJECTED, gettext_lazy("Reject")),
        (DoctorProfile.Status.NEEDS_INFO, gettext_lazy("Ask for more information")),
    ])
    reason = forms.CharField(label=gettext_lazy("Reason (shown to the doctor; required to reject or ask for more)"),
                             required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))
    expected_status = forms.ChoiceField(choices=DoctorProfile.Status.choices, widget=forms.HiddenInput)


class SpeakerForm(forms.Form):
    is_speaker = forms.BooleanField(required=False)
    reason = forms.CharField(required=False, max_length=500)


class VerifierRequiredMixin:
    def dispatch(self, request, *args, **kwargs):
        if not can_verify(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class VerificationQueueView(VerifierRequiredMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "members/profiles/admin/queue.html"
    page_title = gettext_lazy("Doctor verification")
    header_icon = "tick-inverse"

    def get_breadcrumbs_items(self):
        return [*super().get_breadcrumbs_items(), {"url": "", "label": _("Doctor verification")}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        statuses = dict(DoctorProfile.Status.choices)
        status = self.request.GET.get("status", DoctorProfile.Status.PENDING)
        if status not in statuses and status != "all":
            status = DoctorProfile.Status.PENDING
        q = " ".join(self.request.GET.get("q", "").split())[:100]
        profiles = DoctorProfile.objects.select_related("hospital", "department", "user")
        if status != "all":
            profiles = profiles.filter(status=status)
        if q:
            profiles = profiles.filter(Q(real_name__icontains=q) | Q(licence_number__icontains=q)
                                       | Q(hospital__name__icontains=q))
        # The queue is worked oldest first: whoever waited longest is next.
        profiles = profiles.order_by("updated_at", "pk")
        page = Paginator(profiles, PER_PAGE).get_page(self.request.GET.get("p"))
        counts = dict(DoctorProfile.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
        context.update(
            page_obj=page, status=status, q=q,
            tabs=[(key, label, counts.get(key, 0)) for key, label in statuses.items()],
        )
        return context


class VerificationDetailView(VerifierRequiredMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "members/profiles/admin/detail.html"
    header_icon = "user"

    def dispatch(self, request, *args, **kwargs):
        self.profile = (
            DoctorProfile.objects.select_related("hospital", "department", "user")
            .prefetch_related("specialties").filter(pk=kwargs["profile_id"]).first()
        )
        if self.profile is None:
            raise Http404
        self.decision_form = None
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return _("Verify %(name)s") % {"name": self.profile.real_name}

    def get_breadcrumbs_items(self):
        return [*super().get_breadcrumbs_items(),
                {"url": reverse("verification_queue"), "label": _("Doctor verification")},
                {"url": "", "label": self.profile.real_name}]

    def post(self, request, *args, **kwargs):
        if "speaker" in request.POST:
            form = SpeakerForm(request.POST)
            if form.is_valid():
                try:
                    profile_services.speaker_set(profile_id=self.profile.pk, actor=request.user,
                                                 is_speaker=form.cleaned_data["is_speaker"],
                                                 reason=form.cleaned_data["reason"])
                except DomainError as exc:
                    messages.error(request, str(exc.message))
                else:
                    messages.success(request, _("Saved."))
            return redirect("verification_detail", profile_id=self.profile.pk)
        form = DecisionForm(request.POST)
        if form.is_valid():
            try:
                profile_services.verification_decide(
                    profile_id=self.profile.pk, actor=request.user, decision=form.cleaned_data["decision"],
                    reason=form.cleaned_data["reason"], expected_status=form.cleaned_data["expected_status"],
                )
            except DomainError as exc:
                if exc.code == "reason_required":
                    form.add_error("reason", str(exc.message))
                else:
                    form.add_error(None, str(exc.message))
            else:
                messages.success(request, _("Decision saved for %(name)s.") % {"name": self.profile.real_name})
                return redirect(reverse("verification_queue"))
        self.decision_form = form
        self.profile.refresh_from_db()
        return self.render_to_response(self.get_context_data(**kwargs), status=400)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        profile = self.profile
        context.update(
            profile=profile,
            doctor=profile.user,
            decisions=list(profile.decisions.select_related("actor").order_by("-created_at", "-id")[:20]),
            decision_form=self.decision_form or DecisionForm(initial={"expected_status": profile.status}),
            allowed=sorted(profile_services.DECISIONS_FROM.get(profile.status, ())),
            certificate_url=reverse("profile_certificate", args=[profile.pk]) if profile.certificate else "",
            certificate_is_image=profile.certificate_content_type.startswith("image/"),
        )
        return context


class VerificationMenuItem(MenuItem):
    def is_shown(self, request):
        return can_verify(request.user)


@hooks.register("register_admin_urls")
def register_verification_urls():
    return [
        path("verification/", VerificationQueueView.as_view(), name="verification_queue"),
        path("verification/<int:profile_id>/", VerificationDetailView.as_view(), name="verification_detail"),
    ]


@hooks.register("register_admin_menu_item")
def register_verification_menu_item():
    return VerificationMenuItem(gettext_lazy("Doctor verification"), reverse("verification_queue"),
                                name="verification", icon_name="tick-inverse", order=290)
