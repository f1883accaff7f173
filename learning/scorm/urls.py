"""/learning/scorm/…: the SCORM player, the package's files and the commit endpoint."""

from django.urls import path

from learning.scorm import views

urlpatterns = [
    path("scorm/<int:package_id>/", views.player, name="scorm_player"),
    path("scorm/<int:package_id>/files/<path:path>", views.package_file, name="scorm_file"),
    path("scorm/<int:package_id>/commit/", views.commit, name="scorm_commit"),
]
