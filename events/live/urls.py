"""/live/… : the providers' stream callbacks (the room's page and socket are live-room's)."""

from django.urls import path

from events.live import views

urlpatterns = [
    path("callbacks/<slug:provider>/", views.stream_callback, name="live_stream_callback"),
    path("<int:session_id>/", views.room, name="live_room"),
    path("<int:session_id>/console/", views.console, name="live_console"),
]
