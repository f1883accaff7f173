"""The demo segmentation: a realistic spread after `seed_demo`, and nothing new on a second run."""

import pytest
from django.core.management import call_command

from members.engagement.models import EngagementEvent
from members.hospitals.models import TherapyArea
from members.segments.models import DoctorIndicators, DoctorSegment, SegmentChange
from members.segments.selectors import segment_matrix

pytestmark = pytest.mark.django_db


def snapshot():
    return {
        "indicators": list(DoctorIndicators.objects.order_by("pk").values()),
        "segments": list(DoctorSegment.objects.order_by("pk").values()),
        "changes": SegmentChange.objects.count(),
        "events": EngagementEvent.objects.count(),
    }


def test_demo_segments_spread_and_idempotent():
    call_command("seed_demo", "--force", verbosity=0)
    diabetes = TherapyArea.objects.get(code="diabetes")
    matrix = segment_matrix(therapy_area=diabetes)
    cells = {c.cell: c.count for _p, row, _t in matrix.rows for c in row}
    assert matrix.total >= 20
    assert sum(1 for n in cells.values() if n) >= 5  # a spread, not one crowded cell
    assert {p for p, _cells, total in matrix.rows if total} == {"A", "B", "C"}
    assert sum(n for _v, _l, n in matrix.kol_counts if _v != "none") > 0
    assert DoctorSegment.objects.values("therapy_area").distinct().count() >= 4
    first = snapshot()
    call_command("seed_demo", "--force", verbosity=0)
    assert snapshot() == first
