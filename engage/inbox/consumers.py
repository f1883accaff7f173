"""The inbox socket: one per open page of a signed-in user, pushed `notify_user` events."""

from engage.core.consumers import GroupPushConsumer
from engage.inbox.services import user_group


class NotificationConsumer(GroupPushConsumer):
    """One socket per open page of a signed-in user; receives `notify_user` events."""

    async def join(self, user):
        return user_group(user.pk), {"event": "hello", "payload": {"user_id": user.pk}}

    async def notify(self, message):
        await self.send_json({"event": message["event"], "payload": message["payload"]})
