from datetime import datetime

from django.db import IntegrityError, models, transaction
from django.utils import timezone

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
    try:
        with transaction.atomic():
            return EngagementEvent.objects.create(source_key=source_key, **values), True
    except IntegrityError:
        return EngagementEvent.objects.get(source_key=source_key), False
