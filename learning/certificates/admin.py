"""Wagtail admin for certificates: the list of every rep's certificates (by product, status and rep), one
certificate with its verification link, and revoking it with a reason through certificate_revoke (audited; the
qualification it gave lapses at once). Only people who may revoke are offered the button; the service checks too."""

import django_filters
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.generic import FormView
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.permissions import register_permission_policy

from cms.pages.models import Product
from engage.core.errors import DomainError
from engage.core.policies import LocalIndexView, LocalInspectView, ReadOnlyModelViewSet, ReadOnlyPolicy
from engage.core.roles import Capability, capability_holders
from learning.certificates import selectors, services
from learning.certificates.models import Certificate, CertificateStatus

register_permission_policy(Certificate, ReadOnlyPolicy(Certificate, Capability.VIEW_LEARNING_REPORTS))


def _status_label(certificate: Certificate) -> str:
    return CertificateStatus(certificate.status).label


class CertificateFilterSet(WagtailFilterSet):
    product = django_filters.ModelChoiceFilter(label=gettext_lazy("Product"), queryset=Product.objects.order_by("name"),
                                               method="filter_product")
    status = django_filters.ChoiceFilter(label=gettext_lazy("Status"), choices=CertificateStatus.choices,
                                         method="filter_status")
    user = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Rep"), method="filter_user",
        queryset=capability_holders(Capability.COVER_TERRITORY, superusers=False).order_by("display_name",
                                                                                            "username"))

    class Meta:
        model = Certificate
        fields = []

    def filter_product(self, queryset, _name, value):
        return selectors.certificates_for_product(queryset, value) if value else queryset

    def filter_status(self, queryset, _name, value):
        return selectors.certificates_in_status(queryset, value)

    def filter_user(self, queryset, _name, value):
        return queryset.filter(user=value) if value else queryset


class CertificateIndexView(LocalIndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("user")


class CertificateInspectView(LocalInspectView):
    """The certificate, its status and public verification link, and the revoke button for those who may."""

    template_name = "learning/certificates/admin/certificate.html"

    def get_field_label(self, field_name, field):
        if field_name == "revoked_by":
            return pgettext_lazy("learning admin", "Revoked by")
        return super().get_field_label(field_name, field)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        certificate = self.object
        context.update(
            status_label=_status_label(certificate),
            verify_url=reverse("learning:certificate_verify", args=[certificate.code]),
            revoke_url=(reverse("learning_certificates:revoke", args=[certificate.pk])
                        if selectors.can_revoke_certificate(self.request.user, certificate) else ""),
        )
        return context


class RevokeForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason for revoking"), max_length=services.MAX_REASON,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=gettext_lazy("Recorded in the audit trail and sent to the holder."))


class CertificateRevokeView(WagtailAdminTemplateMixin, FormView):
    """Revoke one certificate after a confirmation page, with a required reason."""

    template_name = "learning/certificates/admin/revoke.html"
    form_class = RevokeForm
    header_icon = "cross"
    page_title = gettext_lazy("Revoke certificate")

    def dispatch(self, request, *args, **kwargs):
        if not selectors.can_revoke_certificates(request.user):
            raise PermissionDenied
        self.certificate = get_object_or_404(Certificate.objects.select_related("user"), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_page_subtitle(self):
        return str(self.certificate)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        certificate = self.certificate
        context.update(certificate=certificate, status_label=_status_label(certificate),
                       cancel_url=reverse("learning_certificates:inspect", args=[certificate.pk]))
        return context

    def form_valid(self, form):
        try:
            services.certificate_revoke(certificate_id=self.certificate.pk, actor=self.request.user,
                                        reason=form.cleaned_data["reason"])
        except DomainError as error:
            form.add_error(None, error.message)
            return self.form_invalid(form)
        messages.success(self.request, _("The certificate “%(title)s” of %(name)s was revoked.")
                         % {"title": self.certificate.title, "name": self.certificate.holder_name})
        return redirect("learning_certificates:inspect", self.certificate.pk)


class CertificateViewSet(ReadOnlyModelViewSet):
    model = Certificate
    icon = "doc-full"
    menu_label = gettext_lazy("Certificates")
    list_display = ["holder_name", "title", "issued_at", "expires_at",
                    Column("status", label=gettext_lazy("Status"), accessor=_status_label)]
    filterset_class = CertificateFilterSet
    search_fields = ["holder_name", "title", "code"]
    search_backend_name = None
    index_view_class = CertificateIndexView
    inspect_view_class = CertificateInspectView
    inspect_view_fields = ["holder_name", "user", "title", "course", "curriculum", "code", "issued_at", "expires_at",
                           "revoked_at", "revoked_by", "revoke_reason"]
    list_export = ["holder_name", "title", "code", "issued_at", "expires_at", "revoked_at", "revoke_reason"]
    export_filename = "certificates"
    add_to_admin_menu = False

    def get_urlpatterns(self):
        return [*super().get_urlpatterns(),
                path("revoke/<int:pk>/", CertificateRevokeView.as_view(), name="revoke")]


def certificate_viewsets() -> list:
    return [CertificateViewSet("learning_certificates")]
