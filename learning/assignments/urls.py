"""/learning/assignments/, /learning/curricula/<id>/, /learning/reps/<id>/."""

from django.urls import path

from learning.assignments import views

urlpatterns = [
    path("assignments/", views.assignments_mine, name="assignments_mine"),
    path("curricula/<int:curriculum_id>/", views.curriculum, name="curriculum"),
    path("reps/<int:rep_id>/", views.rep_learning, name="rep_learning"),
]
