"""The capability profile's history in the personal data export; deleted on closing (derived from the exam
attempts, which are kept)."""

from engage.core.personal_data import Closing, personal_data
from learning.competencies.models import CompetencySnapshot


@personal_data(section="competency_snapshots", model="learning.CompetencySnapshot", user_fields=("user",),
               order=76, closing=Closing.DELETE)
def competency_snapshots_export(user) -> list[dict]:
    return [{"date": s.taken_on.isoformat(), "competency": s.kind, "product": s.product_id,
             "percent": str(s.percent), "answered": s.answered}
            for s in CompetencySnapshot.objects.filter(user=user).order_by("taken_on")]
