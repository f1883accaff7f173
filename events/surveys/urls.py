from django.urls import path

from events.surveys import views as surveys

urlpatterns = [
    path("surveys/", surveys.survey_list, name="survey_list"),
    path("surveys/<int:survey_id>/", surveys.survey_answer, name="survey_answer"),
    path("surveys/<int:survey_id>/thanks/", surveys.survey_thanks, name="survey_thanks"),
]
