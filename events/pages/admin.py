"""Admin of meeting authoring: the "Meetings" menu, speakers (a snippet with a chooser), per-doctor frequency
rules and the meeting settings (academic-minutes floor).

Other meeting admin areas put their own entries into the "Meetings" menu with the MEETINGS_MENU_HOOK hook:
a viewset sets `menu_hook = MEETINGS_MENU_HOOK` (and is registered with "register_admin_viewset"), or a plain
`@hooks.register(MEETINGS_MENU_HOOK)` function returns a `wagtail.admin.menu.MenuItem`.
"""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.contrib.settings.registry import register_setting
from wagtail.permissions import register_permission_policy
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from engage.core.policies import CapabilityPolicy, yes_no_column
from engage.core.roles import Capability, can
from events.pages.models import EventIndexPage, EventSettings, Speaker
from events.registrations.models import FrequencyRule

MEETINGS_MENU_HOOK = "register_meetings_menu_item"


register_permission_policy(Speaker, CapabilityPolicy(Speaker, {
    "view": Capability.VIEW_MEETINGS_ADMIN, "add": Capability.AUTHOR_MEETINGS, "change": Capability.AUTHOR_MEETINGS,
    "delete": Capability.DELETE_MEETINGS}))


# Compliance sets how often a doctor may attend sponsored meetings; marketing reads the rules.
register_permission_policy(FrequencyRule, CapabilityPolicy(FrequencyRule, {
    "view": Capability.VIEW_MEETINGS_ADMIN, "add": Capability.MANAGE_FREQUENCY_RULES,
    "change": Capability.MANAGE_FREQUENCY_RULES, "delete": Capability.MANAGE_FREQUENCY_RULES}))


class SpeakerViewSet(SnippetViewSet):
    model = Speaker
    icon = "user"
    menu_label = _("Speakers")
    list_display = ["name", "hospital", "title", "doctor"]
    search_fields = ["name", "hospital"]


class FrequencyRuleViewSet(SnippetViewSet):
    model = FrequencyRule
    icon = "warning"
    menu_label = _("Frequency rules")
    list_display = ["__str__", "event_type", "max_meetings", "period", "action",
                    yes_no_column(FrequencyRule, "active")]
    list_filter = ["active", "action", "period"]


class MeetingsMenu(SnippetViewSetGroup):
    menu_label = _("Meetings")
    menu_icon = "date"
    menu_order = 210
    submenu_hook = MEETINGS_MENU_HOOK
    items = (SpeakerViewSet, FrequencyRuleViewSet)


register_snippet(MeetingsMenu)


register_setting(EventSettings, icon="date")
# Compliance sets the academic floor; Django's model permissions (held by no group) would leave it to superusers.
register_permission_policy(EventSettings, CapabilityPolicy(EventSettings, {
    "view": Capability.MANAGE_MEETING_SETTINGS, "change": Capability.MANAGE_MEETING_SETTINGS}))


class MeetingPagesMenuItem(MenuItem):
    """The meeting pages in the page explorer (the index's children), for those who author meetings: the explorer
    needs page permissions, which reviewers do not hold (they review from the workflow's dashboard)."""

    def is_shown(self, request):
        return can(request.user, Capability.AUTHOR_MEETINGS)

    def render_component(self, request):
        index = EventIndexPage.objects.first()
        self.url = reverse("wagtailadmin_explore", args=[index.pk]) if index else reverse("wagtailadmin_explore_root")
        return super().render_component(request)


@hooks.register(MEETINGS_MENU_HOOK)
def meeting_pages_menu_item():
    return MeetingPagesMenuItem(_("Meeting pages"), "#", name="meeting-pages", icon_name="doc-full", order=0)
