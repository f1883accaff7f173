"""Reads of assignments: a rep's rounds (what is due), curricula and a rep's progress through one, and who may
see which assignment."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from engage.core.errors import NotFound
from engage.core.roles import Capability, can
from learning.assignments.models import Curriculum, RepAssignment
from learning.certificates.selectors import current_certificate
from members.teams.selectors import can_view_rep_learning


def rounds_of(*, rep, open_only: bool = False) -> QuerySet:
    """A rep's assignment rounds, open ones first by due date."""
    qs = RepAssignment.objects.filter(rep=rep, assignment__active=True).select_related(
        "assignment__course", "assignment__curriculum", "certificate")
    if open_only:
        qs = qs.filter(completed_at__isnull=True)
    return qs.order_by("completed_at", "due_at")


def rounds_summary(*, rep) -> dict:
    rounds = list(rounds_of(rep=rep))
    now = timezone.now()
    return {
        "open": [r for r in rounds if r.completed_at is None],
        "overdue": [r for r in rounds if r.completed_at is None and r.due_at < now],
        "done": [r for r in rounds if r.completed_at is not None],
    }


@dataclass
class CurriculumStep:
    course: object
    certificate: object | None


def access_curriculum(*, user, curriculum_id: int) -> Curriculum:
    """Curricula are readable by every signed-in rep, manager and staff member (they are the way to qualify)."""
    curriculum = Curriculum.objects.filter(pk=curriculum_id).first()
    if curriculum is None or not user.is_authenticated or not (
            can(user, Capability.COVER_TERRITORY) or can(user, Capability.VIEW_TEAM_LEARNING)
            or can(user, Capability.VIEW_LEARNING_REPORTS)):
        raise NotFound("curriculum_not_found", _("No such curriculum."))
    return curriculum


def curriculum_steps(*, curriculum: Curriculum, user) -> list[CurriculumStep]:
    """The courses in order, each with the user's current certificate (or None)."""
    return [CurriculumStep(course=item.course, certificate=current_certificate(user=user, course=item.course))
            for item in curriculum.items.select_related("course")]


def access_rep(*, user, rep_id: int):
    """A rep whose learning `user` may see (themselves, their manager, training staff)."""
    rep = get_user_model().objects.filter(pk=rep_id, is_active=True).first()
    if rep is None or not can_view_rep_learning(user, rep):
        raise NotFound("rep_not_found", _("No such rep."))
    return rep
