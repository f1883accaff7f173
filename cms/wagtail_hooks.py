"""Admin wiring for cms/: each area registers its viewsets and hooks in its admin.py, imported here; and the block
cms shows on members' member page."""

from wagtail import hooks

from cms.pages import admin as pages_admin  # noqa: F401
from cms.reading.selectors import reading_member_section
from cms.review import admin as review_admin  # noqa: F401
from engage.core.sections import MEMBER_SECTIONS_HOOK

hooks.register(MEMBER_SECTIONS_HOOK, reading_member_section)
