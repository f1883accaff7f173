"""A push-only WebSocket joined to one group: the base of the inbox and live-counter sockets."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer

UNAUTHORISED = 4401
FORBIDDEN = 4403


class GroupPushConsumer(AsyncJsonWebsocketConsumer):
    """A push-only socket for a signed-in user, joined to one group. Subclasses decide the group in `join`
    (returning the group and the first event to send, or None to refuse with 4403); anonymous sockets get 4401."""

    async def join(self, user) -> tuple[str, dict] | None:
        raise NotImplementedError

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHORISED)
            return
        joined = await self.join(user)
        if joined is None:
            await self.close(code=FORBIDDEN)
            return
        self.group, first = joined
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json(first)

    async def disconnect(self, code):
        group = getattr(self, "group", None)
        if group:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        # The socket is push-only; a ping keeps proxies from closing it.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"event": "pong", "payload": {}})
