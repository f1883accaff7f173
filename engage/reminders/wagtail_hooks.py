"""Wagtail admin: patient programmes and their consent texts (marketing), the pharmacovigilance queue and its
adverse-event terms (medical staff only), and links to the programme adherence pages (with their enrolment QR
codes) and, in development, the demo phones. Patients themselves are not listed in the admin: their data is seen
by their treating doctor and by programme staff on the reminder pages."""

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic import CreateView, EditView
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup
from wagtail.permissions import register_permission_policy

from engage.core.policies import CapabilityPolicy, ServiceSaveMixin, yes_no_column
from engage.core.roles import Capability, can
from engage.core.sections import MEMBER_SECTIONS_HOOK
from engage.reminders import services
from engage.reminders.models import AdverseEventTerm, PharmacovigilanceCase, Programme, ProgrammeConsentText
from engage.reminders.selectors import can_view_programmes, reminders_member_section

MEDICAL = Capability.REVIEW_ADVERSE_EVENTS
PV_TERMS = Capability.MANAGE_PV_TERMS
PROGRAMME_EDITORS = Capability.MANAGE_PROGRAMMES

register_permission_policy(PharmacovigilanceCase,
                           CapabilityPolicy(PharmacovigilanceCase, {"view": MEDICAL, "change": MEDICAL}))
register_permission_policy(AdverseEventTerm, CapabilityPolicy(AdverseEventTerm, {
    "view": PV_TERMS, "add": PV_TERMS, "change": PV_TERMS}))  # retired by unticking "active", never deleted
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
    list_display = ["received_at", "review_due_at", "patient", "programme", "doctor", "context", "medication",
                    "matched_keywords", "serious", "status"]
    list_filter = ["status", "serious", "programme", "reporter", "source"]
    inspect_view_enabled = True
    inspect_view_fields = ["received_at", "review_due_at", "patient", "programme", "doctor", "context", "medication",
                           "reporter", "text",
                           "matched_keywords", "serious", "source", "status", "review_notes", "reviewed_by"]
    copy_view_enabled = False
    edit_view_class = PvCaseEditView
    ordering = ["-created_at", "-id"]


def _term_input(form) -> services.PvTermInput:
    return services.PvTermInput(**{f: form.cleaned_data[f] for f in AdverseEventTermViewSet.form_fields})


class PvTermCreateView(ServiceSaveMixin, CreateView):
    def call_service(self):
        return services.pv_term_save(term=None, data=_term_input(self.form), actor=self.request.user)


class PvTermEditView(ServiceSaveMixin, EditView):
    def call_service(self):
        return services.pv_term_save(term=self.object, data=_term_input(self.form), actor=self.request.user)


class AdverseEventTermViewSet(ModelViewSet):
    model = AdverseEventTerm
    icon = "warning"
    menu_label = _("Adverse event terms")
    form_fields = ["term", "language", "synonyms", "serious", "is_active"]
    list_display = ["term", "language", "synonyms", yes_no_column(AdverseEventTerm, "serious"),
                    yes_no_column(AdverseEventTerm, "is_active")]
    list_filter = ["language", "serious", "is_active"]
    search_fields = ["term", "synonyms"]
    add_view_class = PvTermCreateView
    edit_view_class = PvTermEditView
    copy_view_enabled = False


class ProgrammeViewSet(ModelViewSet):
    model = Programme
    icon = "group"
    menu_label = _("Programmes")
    form_fields = ["name", "sponsor", "description", "template_keys", "staff", "quiet_start", "quiet_end",
                   "is_active"]
    list_display = ["name", "sponsor", yes_no_column(Programme, "is_active"), "created_at"]
    copy_view_enabled = False


class ConsentTextViewSet(ModelViewSet):
    model = ProgrammeConsentText
    icon = "doc-full"
    menu_label = _("Consent texts")
    form_fields = ["programme", "version", "text", "health_info_text"]
    list_display = ["programme", "version", "published_at"]
    copy_view_enabled = False


class SitePageMenuItem(MenuItem):
    """A menu link to one of the reminder site pages, given by URL name: resolved when the menu is drawn (the group
    builds its menu while the URLconf is still loading)."""

    @property
    def url(self):
        return reverse(self.url_name)

    @url.setter
    def url(self, url_name):
        self.url_name = url_name


class ProgrammePagesMenuItem(SitePageMenuItem):
    """The programme staff's adherence pages, each with its enrolment QR code (site pages, not admin views)."""

    def is_shown(self, request):
        return can_view_programmes(request.user)


class DevPhoneMenuItem(SitePageMenuItem):
    def is_shown(self, request):
        return settings.DEBUG and can(request.user, Capability.USE_ADMIN)


class PatientProgrammesGroup(ModelViewSetGroup):
    menu_label = _("Patient programmes")
    menu_icon = "group"
    menu_order = 920
    items = [ProgrammeViewSet("reminder_programmes"), ConsentTextViewSet("reminder_consent_texts"),
             PharmacovigilanceViewSet("pharmacovigilance"), AdverseEventTermViewSet("pv_terms")]

    def get_submenu_items(self):
        items = super().get_submenu_items()
        order = len(items) + 1
        return [
            *items,
            ProgrammePagesMenuItem(_("Programme adherence and enrolment QR"), "reminders_programmes",
                                   name="reminder_programme_pages", icon_name="view", order=order),
            DevPhoneMenuItem(_("Demo phones (development only)"), "reminders_dev_phone",
                             name="reminder_dev_phone", icon_name="mail", order=order + 1),
        ]


@hooks.register("register_admin_viewset")
def register_reminders_viewsets():
    return PatientProgrammesGroup()


hooks.register(MEMBER_SECTIONS_HOOK, reminders_member_section)
