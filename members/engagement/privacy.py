"""Engagement history in the personal data export; kept on closing, with the person's names taken out."""

from engage.core.personal_data import Closing, ClosingAccount, iso, personal_data
from members.engagement.models import EngagementEvent


def _pseudonymise(account: ClosingAccount) -> None:
    # `object_repr` is str(obj) when recorded, e.g. a consent's "王丽华 privacy v1".
    for event in EngagementEvent.objects.filter(doctor=account.user).only("object_repr", "metadata"):
        repr_, metadata = account.scrub(event.object_repr), account.scrub_json(event.metadata)
        if (repr_, metadata) != (event.object_repr, event.metadata):
            event.object_repr, event.metadata = repr_, metadata
            event.save(update_fields=["object_repr", "metadata"])


@personal_data(section="engagement_events", model="members.EngagementEvent", user_fields=("doctor",), order=30,
               closing=Closing.PSEUDONYMISE, close=_pseudonymise,
               reason="the history of sponsored activities (meetings, reading, points) compliance reports on")
def engagement_events_export(user) -> list[dict]:
    return [
        {"kind": e.kind, "object": e.object_repr, "occurred_at": iso(e.occurred_at), "details": e.metadata}
        for e in EngagementEvent.objects.filter(doctor=user).order_by("occurred_at", "id")
    ]
