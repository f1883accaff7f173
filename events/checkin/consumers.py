"""Meeting WebSockets: the live check-in counters of a meeting's admin dashboard (staff only)."""

from channels.db import database_sync_to_async

from engage.core.consumers import GroupPushConsumer
from engage.core.errors import DomainError
from events.checkin.selectors import event_counters
from events.checkin.services import live_group
from events.pages.selectors import EventUse, access_event


@database_sync_to_async
def _dashboard_counters(user, event_id: int) -> dict | None:
    try:
        event = access_event(user=user, event_id=event_id, use=EventUse.MANAGE_CHECKIN)
    except DomainError:
        return None
    return event_counters(event)


class EventLiveConsumer(GroupPushConsumer):
    """Joins the meeting's group and relays `counters` events; sends the current figures on connect."""

    async def join(self, user):
        event_id = self.scope["url_route"]["kwargs"]["event_id"]
        counters = await _dashboard_counters(user, event_id)
        if counters is None:
            return None
        return live_group(event_id), {"event": "counters", "payload": counters}

    async def counters(self, message):
        await self.send_json({"event": "counters", "payload": message["payload"]})
