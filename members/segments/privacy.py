"""What staff recorded about a doctor's practice and the segments computed from it: exported, deleted on closing
(a closed account is no longer targeted)."""

from engage.core.personal_data import Closing, iso, personal_data
from members.segments.models import DoctorIndicators, DoctorSegment, SegmentChange


@personal_data(section="practice_indicators", model="members.DoctorIndicators", user_fields=("doctor",),
               order=42, closing=Closing.DELETE)
def indicators_export(user) -> list[dict]:
    return [
        {"therapy_area": i.therapy_area.name, "beds_in_charge": i.beds_in_charge,
         "weekly_outpatients": i.weekly_outpatients, "weekly_target_patients": i.weekly_target_patients,
         "kol_tier": i.kol_tier, "updated_at": iso(i.updated_at)}
        for i in DoctorIndicators.objects.filter(doctor=user).select_related("therapy_area").order_by("id")
    ]


@personal_data(section="segments", model="members.DoctorSegment", user_fields=("doctor",), order=43,
               closing=Closing.DELETE)
def segments_export(user) -> list[dict]:
    return [
        {"therapy_area": s.therapy_area.name, "cell": s.cell, "kol_tier": s.kol_tier,
         "support_score": s.support_score, "computed_at": iso(s.computed_at)}
        for s in DoctorSegment.objects.filter(doctor=user).select_related("therapy_area").order_by("id")
    ]


@personal_data(section="segment_history", model="members.SegmentChange", user_fields=("doctor",), order=44,
               closing=Closing.DELETE)
def segment_history_export(user) -> list[dict]:
    return [
        {"therapy_area": c.therapy_area.name, "from": c.from_cell, "to": c.to_cell, "kol_tier": c.kol_tier,
         "changed_at": iso(c.changed_at)}
        for c in SegmentChange.objects.filter(doctor=user).select_related("therapy_area").order_by("changed_at", "id")
    ]
