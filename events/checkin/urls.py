"""/events/<id>/checkin/…: the staff scanner, the on-site code screen; /events/<id>/self-checkin/ for doctors."""

from django.urls import path

from events.checkin import views as checkin

urlpatterns = [
    path("<int:event_id>/checkin/scanner/", checkin.scanner, name="checkin_scanner"),
    path("<int:event_id>/checkin/onsite/", checkin.onsite_screen, name="checkin_onsite"),
    path("<int:event_id>/checkin/onsite/code.svg", checkin.onsite_code_svg, name="checkin_onsite_code"),
    path("<int:event_id>/self-checkin/", checkin.self_checkin, name="self_checkin"),
]
