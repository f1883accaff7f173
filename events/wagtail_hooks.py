"""Admin wiring for events/: each area registers its viewsets and hooks in its admin.py, imported here; and the
blocks events shows on cms's home page and members' member page."""

from wagtail import hooks

from engage.core.sections import HOME_SECTIONS_HOOK, MEMBER_SECTIONS_HOOK, REP_DOCTOR_ACTIONS_HOOK
from events.checkin import admin as checkin_admin  # noqa: F401
from events.evidence import admin as evidence_admin  # noqa: F401
from events.live import admin as live_admin  # noqa: F401
from events.pages import admin as pages_admin  # noqa: F401
from events.pages.selectors import events_home_section, events_member_section
from events.photos import admin as photos_admin  # noqa: F401
from events.registrations import admin as registrations_admin  # noqa: F401
from events.registrations.selectors import rep_doctor_actions
from events.surveys import admin as surveys_admin  # noqa: F401

hooks.register(HOME_SECTIONS_HOOK, events_home_section)
hooks.register(MEMBER_SECTIONS_HOOK, events_member_section)
hooks.register(REP_DOCTOR_ACTIONS_HOOK, rep_doctor_actions)
