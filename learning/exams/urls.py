"""/learning/exams/… and /learning/attempts/…: taking an exam on the phone."""

from django.urls import path

from learning.exams import views

urlpatterns = [
    path("exams/<int:exam_id>/", views.exam_detail, name="exam"),
    path("exams/<int:exam_id>/start/", views.exam_start, name="exam_start"),
    path("attempts/<int:attempt_id>/", views.attempt_page, name="attempt"),
    path("attempts/<int:attempt_id>/submit/", views.attempt_submit_view, name="attempt_submit"),
    path("attempts/<int:attempt_id>/result/", views.attempt_result, name="attempt_result"),
]
