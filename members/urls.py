"""Doctor- and rep-facing pages of members/, mounted at /members/. One line per view; areas add theirs."""

from django.urls import path

from . import views

urlpatterns = [
    path("me/", views.member_home, name="member_home"),
]
