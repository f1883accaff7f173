"""The learning dashboard for managers (their team) and training staff (every rep): completion and overdue per
team and course, score distributions per exam, the weakest question categories, reps not qualified per product."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from engage.core.errors import PermissionDenied
from engage.core.roles import Capability, can
from learning.assignments.models import ProductRequirement, RepAssignment
from learning.certificates.models import Certificate
from learning.exams.models import Attempt, AttemptQuestion, AttemptStatus
from members.teams.selectors import person_name, visible_reps

BUCKETS = ((0, 60, "0–59"), (60, 70, "60–69"), (70, 80, "70–79"), (80, 90, "80–89"), (90, 101, "90–100"))


def can_view_learning_dashboard(user) -> bool:
    return can(user, Capability.VIEW_LEARNING_REPORTS) or can(user, Capability.VIEW_TEAM_LEARNING)


@dataclass
class Dashboard:
    completion: list[dict] = field(default_factory=list)  # {team, target, assigned, completed, overdue, percent}
    scores: list[dict] = field(default_factory=list)  # {exam, buckets: [n per BUCKETS], attempts}
    weakest: list[dict] = field(default_factory=list)  # {category, answered, percent}
    not_qualified: list[dict] = field(default_factory=list)  # {product, curriculum, reps: [names]}
    reps: list = field(default_factory=list)
    buckets: tuple = tuple(label for _lo, _hi, label in BUCKETS)


def learning_dashboard(*, user, weakest: int = 5) -> Dashboard:
    """PermissionDenied `forbidden` for people who are neither a manager nor training staff."""
    if not can_view_learning_dashboard(user):
        raise PermissionDenied("forbidden", _("Only managers and training staff see the learning dashboard."))
    now = timezone.now()
    reps = list(visible_reps(user=user).select_related("team_membership__team"))
    rep_ids = [rep.pk for rep in reps]
    board = Dashboard(reps=reps)

    latest = (RepAssignment.objects.filter(rep_id__in=rep_ids, assignment__active=True)
              .select_related("assignment__course", "assignment__curriculum", "rep__team_membership__team")
              .order_by("assignment_id", "rep_id", "-cycle").distinct("assignment_id", "rep_id"))
    groups: dict[tuple[str, str], dict] = {}
    for row in latest:
        membership = getattr(row.rep, "team_membership", None)
        team = membership.team.name if membership is not None else _("No team")
        key = (team, str(row.assignment.target))
        group = groups.setdefault(key, {"team": team, "target": key[1], "assigned": 0, "completed": 0,
                                        "overdue": 0})
        group["assigned"] += 1
        if row.completed_at is not None:
            group["completed"] += 1
        elif row.due_at < now:
            group["overdue"] += 1
    for group in groups.values():
        group["percent"] = round(100 * group["completed"] / group["assigned"]) if group["assigned"] else 0
    board.completion = sorted(groups.values(), key=lambda g: (g["team"], g["target"]))

    per_exam: dict[str, list[int]] = defaultdict(lambda: [0] * len(BUCKETS))
    for title, percent in (Attempt.objects.filter(user_id__in=rep_ids, status=AttemptStatus.SUBMITTED,
                                                  percent__isnull=False)
                           .values_list("exam__title", "percent")):
        for i, (low, high, _label) in enumerate(BUCKETS):
            if low <= float(percent) < high:
                per_exam[title][i] += 1
    board.scores = [{"exam": title, "buckets": counts, "attempts": sum(counts)}
                    for title, counts in sorted(per_exam.items())]

    categories = (AttemptQuestion.objects
                  .filter(attempt__user_id__in=rep_ids, attempt__status=AttemptStatus.SUBMITTED,
                          is_correct__isnull=False)
                  .values("category__name")
                  .annotate(answered=Count("pk"), right=Count("pk", filter=Q(is_correct=True))))
    ranked = sorted(({"category": c["category__name"], "answered": c["answered"],
                      "percent": round(100 * c["right"] / c["answered"], 1)} for c in categories),
                    key=lambda c: (c["percent"], c["category"]))
    board.weakest = ranked[:weakest]

    for requirement in ProductRequirement.objects.select_related("product", "curriculum").order_by("product__name"):
        holders = set(Certificate.objects.filter(curriculum_id=requirement.curriculum_id, user_id__in=rep_ids,
                                                 revoked_at__isnull=True, expires_at__gt=now)
                      .values_list("user_id", flat=True))
        board.not_qualified.append({"product": requirement.product.name, "curriculum": requirement.curriculum.title,
                                    "reps": [person_name(rep) for rep in reps if rep.pk not in holders]})
    return board
