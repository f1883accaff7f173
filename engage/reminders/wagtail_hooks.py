"""Wagtail admin: patient programmes and their consent texts (marketing), and the pharmacovigilance queue
(medical staff only). Patients themselves are not listed in the admin: their data is seen by their treating
doctor and by programme staff on the reminder pages."""

from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.views.generic import EditView
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup
from wagtail.permissions import register_permission_policy

from engage.core.policies import CapabilityPolicy, ServiceSaveMixin
from engage.core.roles import Capability
from engage.core.sections import MEMBER_SECTIONS_HOOK
from engage.reminders import services
from engage.reminders.models import PharmacovigilanceCase, Programme, ProgrammeConsentText
from engage.reminders.selectors import reminders_member_section

MEDICAL = Capability.REVIEW_ADVERSE_EVENTS
PROGRAMME_EDITORS = Capability.MANAGE_PROGRAMMES

register_permission_policy(PharmacovigilanceCase,
                           CapabilityPolicy(PharmacovigilanceCase, {"view": MEDICAL, "change": MEDICAL}))
register_permission_policy(Programme, CapabilityPolicy(Programme, {"view": PROGRAMME_EDITORS, "add": PROGRAMME_EDITORS,
                                                             "change": PROGRAMME_EDITORS}))
# A consent text version is never edited: a change is a new version.
register_permission_policy(ProgrammeConsentText, CapabilityPolicy(ProgrammeConsentText, {
    "view": PROGRAMME_EDITORS, "add": PROGRAMME_EDITORS}))


class PvCaseEditView(ServiceSaveMixin, EditView):
    def call_service(self):
        return services.pv_case_review(case=self.object, status=self.form.cleaned_data["status"],
                                       notes=self.form.cleaned_data["review_notes"], actor=self.request.user)


class PharmacovigilanceViewSet(ModelViewSet):
    model = PharmacovigilanceCase
    icon = "warning"
    menu_label = _("Pharmacovigilance queue")
    form_fields = ["status", "review_notes"]
    list_display = ["created_at", "patient", "matched_keywords", "source", "status"]
    list_filter = ["status", "source"]
    inspect_view_enabled = True
    inspect_view_fields = ["created_at", "patient", "text", "matched_keywords", "source", "status", "review_notes",
                           "reviewed_by"]
    copy_view_enabled = False
    edit_view_class = PvCaseEditView
    ordering = ["-created_at", "-id"]


class ProgrammeViewSet(ModelViewSet):
    model = Programme
    icon = "group"
    menu_label = _("Programmes")
    form_fields = ["name", "sponsor", "description", "template_keys", "staff", "is_active"]
    list_display = ["name", "sponsor", "is_active", "created_at"]
    copy_view_enabled = False


class ConsentTextViewSet(ModelViewSet):
    model = ProgrammeConsentText
    icon = "doc-full"
    menu_label = _("Consent texts")
    form_fields = ["programme", "version", "text", "health_info_text"]
    list_display = ["programme", "version", "published_at"]
    copy_view_enabled = False


class PatientProgrammesGroup(ModelViewSetGroup):
    menu_label = _("Patient programmes")
    menu_icon = "group"
    menu_order = 920
    items = [ProgrammeViewSet("reminder_programmes"), ConsentTextViewSet("reminder_consent_texts"),
             PharmacovigilanceViewSet("pharmacovigilance")]


@hooks.register("register_admin_viewset")
def register_reminders_viewsets():
    return PatientProgrammesGroup()


hooks.register(MEMBER_SECTIONS_HOOK, reminders_member_section)
