"""/learning/lessons/…: lesson actions outside the page tree (the pages themselves are Wagtail pages)."""

from django.urls import path

from learning.courses import views

urlpatterns = [
    path("lessons/<int:lesson_id>/complete/", views.lesson_complete_view, name="lesson_complete"),
]
