"""/learning/… site views; each area keeps its own urls.py."""

from django.urls import include, path

app_name = "learning"

urlpatterns: list = [
    path("", include("learning.courses.urls")),
    path("", include("learning.exams.urls")),
    path("", include("learning.knowledge.urls")),
    path("", include("learning.scorm.urls")),
    path("", include("learning.assignments.urls")),
    path("", include("learning.certificates.urls")),
    path("", include("learning.dashboards.urls")),
]
