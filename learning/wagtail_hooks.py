"""Admin wiring for learning/: each area registers its viewsets and hooks in its admin.py, imported here; learning's
menu group (exams, question bank, sales teams, curricula, assignments, product qualification, certificates); and
the blocks learning shows on cms's home page."""

from django.utils.translation import gettext_lazy
from wagtail import hooks
from wagtail.admin.viewsets.base import ViewSetGroup

from engage.core.sections import HOME_SECTIONS_HOOK
from learning.assignments.admin import assignment_viewsets
from learning.certificates.admin import certificate_viewsets
from learning.courses.selectors import learning_home_section
from learning.exams import admin as exams_admin
from learning.knowledge import admin as knowledge_admin  # noqa: F401
from learning.scorm import admin as scorm_admin  # noqa: F401
from members.teams.admin import TeamViewSet

hooks.register(HOME_SECTIONS_HOOK, learning_home_section)


class LearningViewSetGroup(ViewSetGroup):
    menu_label = gettext_lazy("E-learning")
    menu_icon = "form"
    menu_order = 330
    items = (
        *exams_admin.exam_viewsets(),
        TeamViewSet("sales_teams"),
        *assignment_viewsets(),
        *certificate_viewsets(),
    )


@hooks.register("register_admin_viewset")
def register_learning_viewset_group():
    return LearningViewSetGroup()
