"""Engagement history in the personal data export; kept on closing, with the person's names taken out."""

from engage.core.personal_data import Closing, iso, personal_data
from members.engagement.models import EngagementEvent


@personal_data(section="engagement_events", model="members.EngagementEvent", user_fields=("doctor",), order=30,
               closing=Closing.PSEUDONYMISE, scrub=("object_repr", "metadata"),  # object_repr: str(obj), may name them
               reason="the history of sponsored activities (meetings, reading, points) compliance reports on")
def engagement_events_export(user) -> list[dict]:
    return [
        {"kind": e.kind, "object": e.object_repr, "occurred_at": iso(e.occurred_at), "details": e.metadata}
        for e in EngagementEvent.objects.filter(doctor=user).order_by("occurred_at", "id")
    ]
