"""Mounted at /reminders/ by engage/urls.py."""

from django.urls import path

from engage.reminders import views

urlpatterns = [
    path("p/<str:token>/", views.patient_page, name="reminders_patient_page"),
    path("join/<str:token>/", views.self_enrol, name="reminders_self_enrol"),
    path("doctor/", views.doctor_patients, name="reminders_doctor_patients"),
    path("doctor/enrol/", views.doctor_enrol, name="reminders_doctor_enrol"),
    path("patients/<int:patient_id>/", views.doctor_patient, name="reminders_doctor_patient"),
    path("programmes/", views.programme_list, name="reminders_programmes"),
    path("patients/<int:patient_id>/follow-ups/new/", views.follow_up_create, name="reminders_follow_up_create"),
    path("plans/<int:medication_plan_id>/", views.plan_edit, name="reminders_plan_edit"),
    path("plans/<int:medication_plan_id>/status/", views.plan_status, name="reminders_plan_status"),
    path("follow-ups/<int:follow_up_plan_id>/", views.follow_up_edit, name="reminders_follow_up_edit"),
    path("programmes/<int:programme_id>/", views.programme_adherence, name="reminders_programme"),
    path("programmes/<int:programme_id>/qr.svg", views.programme_qr, name="reminders_programme_qr"),
    path("dev/phone/", views.dev_phone, name="reminders_dev_phone"),
    path("dev/phone/reply/", views.dev_phone_reply, name="reminders_dev_phone_reply"),
]
