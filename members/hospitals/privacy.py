"""Hospitals a person proposed for the master data: exported; kept on closing (the hospital is not theirs)."""

from engage.core.personal_data import Closing, personal_data
from members.hospitals.models import Hospital


@personal_data(section="proposed_hospitals", model="members.Hospital", user_fields=("proposed_by",), order=90,
               closing=Closing.RETAIN, reason="hospital master data; the proposer key is provenance")
def proposed_hospitals_export(user) -> list[dict]:
    return [{"name": h.name, "city": h.city} for h in Hospital.objects.filter(proposed_by=user).order_by("id")]
