"""WebSocket routes. Consumers are named by dotted path: the project imports no feature app."""

from django.urls import path
from django.utils.module_loading import import_string

websocket_urlpatterns = [
    path("ws/notifications/", import_string("engage.inbox.consumers.NotificationConsumer").as_asgi()),
    path("ws/events/<int:event_id>/live/", import_string("events.checkin.consumers.EventLiveConsumer").as_asgi()),
    path("ws/live/<int:session_id>/", import_string("events.live.consumers.LiveRoomConsumer").as_asgi()),
]
