from datetime import datetime

from django.db import models
from django.utils import timezone

from engage.core.inserts import insert_once
from members.accounts.models import User
from members.engagement.models import EngagementEvent, EngagementKind
from members.hospitals.models import TherapyArea


def engagement_record(
    *,
    doctor: User,
    kind: EngagementKind | str,
    source_key: str,
    obj: models.Model | None = None,
    therapy_area: TherapyArea | None = None,
    occurred_at: datetime | None = None,
    metadata: dict | None = None,
) -> tuple[EngagementEvent, bool]:
    """Records that `doctor` did `kind` (on `obj`). The same `source_key` is recorded once, however often or
    concurrently it is called; returns (event, created)."""
    kind = EngagementKind(kind)
    values = {
        "doctor": doctor,
        "kind": kind,
        "object_type": obj._meta.label_lower if obj is not None else "",
        "object_id": str(obj.pk) if obj is not None else "",
        "object_repr": str(obj)[:300] if obj is not None else "",
        "therapy_area": therapy_area,
        "occurred_at": occurred_at or timezone.now(),
        "metadata": metadata or {},
    }
    event = EngagementEvent(source_key=source_key, **values)
    if insert_once(event, key="source_key"):  # one statement, no savepoint
        return event, True
    return EngagementEvent.objects.get(source_key=source_key), False
