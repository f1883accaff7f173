"""Writes of the capability profile: the daily snapshot of each rep's scores (its history over time)."""

from datetime import date

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from learning.competencies.models import CompetencySnapshot
from learning.competencies.selectors import capability_profile
from learning.exams.models import AttemptStatus


@transaction.atomic
def competency_snapshot_take(*, user, on: date | None = None) -> int:
    """Stores today's scores of `user` (one row per competency and day; a second run the same day updates)."""
    on = on or timezone.localdate()
    count = 0
    for score in capability_profile(user=user):
        CompetencySnapshot.objects.update_or_create(
            user=user, kind=score.kind, product_id=score.product_id, taken_on=on,
            defaults={"percent": score.percent, "answered": score.answered})
        count += 1
    return count


def competency_snapshots_take(*, on: date | None = None) -> int:
    """Beat, daily: a snapshot for everyone with an exam submitted since the day of their last snapshot (a rep whose
    scores cannot have changed gets no new row). Safe to rerun: one row per rep, competency and day."""
    on = on or timezone.localdate()
    users = (get_user_model().objects.filter(exam_attempts__status=AttemptStatus.SUBMITTED)
             .annotate(last_exam=Max("exam_attempts__submitted_at"),
                       last_snapshot=Max("competency_snapshots__taken_on")))
    # ">=": an exam on the day of the last snapshot may have come after it (a snapshot keeps only its date).
    changed = [user for user in users if user.last_snapshot is None or user.last_exam is None
               or timezone.localdate(user.last_exam) >= user.last_snapshot]
    return sum(competency_snapshot_take(user=user, on=on) for user in changed)
