from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .notifications import user_group

UNAUTHORISED = 4401


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    """One socket per open page of a signed-in user; receives `notify_user` events."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHORISED)
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"event": "hello", "payload": {"user_id": user.pk}})

    async def disconnect(self, code):
        group = getattr(self, "group", None)
        if group:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        # The socket is push-only; a ping keeps proxies from closing it.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"event": "pong", "payload": {}})

    async def notify(self, message):
        await self.send_json({"event": message["event"], "payload": message["payload"]})
