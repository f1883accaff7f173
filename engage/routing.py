from django.urls import path

from engage.core.consumers import NotificationConsumer
from events.consumers import EventLiveConsumer

websocket_urlpatterns = [
    path("ws/notifications/", NotificationConsumer.as_asgi()),
    path("ws/events/<int:event_id>/live/", EventLiveConsumer.as_asgi()),
]
