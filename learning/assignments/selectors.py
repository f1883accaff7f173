"""Reads of assignments: a rep's rounds (what is due), curricula and a rep's progress through one, and who may
see which assignment."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from engage.core.errors import NotFound
from engage.core.roles import Capability, can, capability_holders
from learning.assignments.models import Assignment, Curriculum, ProductRequirement, RepAssignment
from learning.certificates.models import Certificate
from learning.certificates.selectors import current_certificate
from members.teams.selectors import can_view_rep_learning

ROUND_STATUS_LABELS = {
    "completed": pgettext_lazy("learning round", "Completed"),
    "overdue": pgettext_lazy("learning round", "Overdue"),
    "due": pgettext_lazy("learning round", "Due"),
}


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


def can_manage_assignments(user) -> bool:
    """Curricula, assignments and product qualification requirements (the admin screens and the API)."""
    return can(user, Capability.MANAGE_ASSIGNMENTS)


def round_status(row: RepAssignment, now=None) -> str:
    """completed, overdue or due (a key of ROUND_STATUS_LABELS)."""
    if row.completed_at is not None:
        return "completed"
    return "overdue" if row.due_at < (now or timezone.now()) else "due"


def assignment_rounds(*, assignment: Assignment) -> QuerySet:
    """Who an assignment expanded to: every rep's rounds, with their team, open and overdue first."""
    return (RepAssignment.objects.filter(assignment=assignment)
            .select_related("rep__team_membership__team", "certificate")
            .order_by("completed_at", "due_at", "rep__username", "cycle"))


def assignment_round_counts(*, assignment: Assignment) -> dict[str, int]:
    """How many rounds are completed, overdue and due."""
    now = timezone.now()
    rounds = RepAssignment.objects.filter(assignment=assignment)
    completed = rounds.filter(completed_at__isnull=False).count()
    overdue = rounds.filter(completed_at__isnull=True, due_at__lt=now).count()
    return {"completed": completed, "overdue": overdue, "due": rounds.count() - completed - overdue}


def requirements_with_unqualified_counts() -> QuerySet:
    """Product requirements, each annotated with `unqualified_reps`: the active reps holding no current certificate
    of the required curriculum (what the qualification check refuses, counted)."""
    reps = capability_holders(Capability.COVER_TERRITORY, superusers=False)
    held = (Certificate.objects.filter(curriculum_id=OuterRef("curriculum_id"), revoked_at__isnull=True,
                                       expires_at__gt=timezone.now(), user__in=reps.values("pk"))
            .order_by().values("curriculum_id").annotate(n=Count("user_id", distinct=True)).values("n"))
    return (ProductRequirement.objects.select_related("product", "curriculum")
            .annotate(unqualified_reps=Value(reps.count(), output_field=IntegerField())
                      - Coalesce(Subquery(held, output_field=IntegerField()), 0))
            .order_by("product__name"))
