"""Demo surveys: the past meeting's survey answered by most attendees through the real service, today's and a
stand-alone anonymous survey open; idempotent."""

import pytest
from django.utils import timezone

from events.pages.demo import seed_demo_events
from events.surveys.demo import seed_demo_surveys
from events.surveys.models import Survey, SurveyParticipation, SurveyResponse
from events.surveys.selectors import checked_in_doctor_ids, survey_refusal
from members.profiles.models import DoctorProfile
from tests.factories import DoctorProfileFactory, user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_meetings():
    user_with_role("marketing", username="demo-marketing")
    for n in (1, 2):
        user_with_role("rep", username=f"demo-rep-{n:02d}")
    for n in range(1, 70):
        doctor = user_with_role("doctor", username=f"demo-doctor-{n:03d}")
        DoctorProfileFactory(user=doctor, status=DoctorProfile.Status.VERIFIED, verified_at=timezone.now())
    seed_demo_events()


def test_demo_surveys_are_seeded_once(demo_meetings):
    created = seed_demo_surveys()
    assert created["surveys"] == 3
    past = Survey.objects.get(event__slug="demo-past-hypertension")
    attendees = checked_in_doctor_ids(past.event_id).count()
    assert 0 < created["survey responses"] == SurveyResponse.objects.filter(survey=past).count() < attendees
    assert SurveyParticipation.objects.filter(survey=past).count() == created["survey responses"]
    standalone = Survey.objects.get(event__isnull=True)
    assert standalone.anonymous
    today = Survey.objects.get(event__slug__startswith="demo-today-")
    doctor = today.event.registrations.first().doctor
    assert survey_refusal(user=doctor, survey=today).code == "not_checked_in"  # until they check in at the demo
    assert seed_demo_surveys() == {"surveys": 0, "survey responses": 0}
