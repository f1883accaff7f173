"""Admin wiring for learning/: each area registers its viewsets and hooks in its admin.py, imported here; and the
blocks learning shows on cms's home page."""

from wagtail import hooks

from engage.core.sections import HOME_SECTIONS_HOOK
from learning.courses.selectors import learning_home_section
from learning.exams import admin as exams_admin  # noqa: F401
from learning.knowledge import admin as knowledge_admin  # noqa: F401
from learning.scorm import admin as scorm_admin  # noqa: F401

hooks.register(HOME_SECTIONS_HOOK, learning_home_section)
