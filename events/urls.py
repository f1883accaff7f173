"""/events/… site views; each area keeps its own urls.py."""

from django.urls import include, path

app_name = "events"

urlpatterns = [
    path("", include("events.registrations.urls")),
    path("", include("events.checkin.urls")),
    path("", include("events.photos.urls")),
    path("", include("events.surveys.urls")),
]
