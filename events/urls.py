"""/events/… site views; each area keeps its own URL module so the areas can grow independently."""

from django.urls import include, path

app_name = "events"

urlpatterns = [
    path("", include("events.urls_registrations")),
    path("", include("events.urls_checkin")),
    path("", include("events.urls_photos")),
    path("", include("events.urls_surveys")),
    path("", include("events.urls_evidence")),
]
