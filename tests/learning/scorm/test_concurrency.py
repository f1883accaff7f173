"""Real threads against PostgreSQL: the same commit sent many times at once is applied once, and a learner's first
commits racing create one registration."""

import pytest

from learning.scorm.models import ScormCommit, ScormRegistration
from learning.scorm.services import launch_token, scorm_commit
from tests.factories import user_with_role
from tests.race import race, raise_first

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_one_commit_sent_at_once_by_many_is_applied_once(scorm_lesson):
    rep = user_with_role("rep")
    token = launch_token(user=rep, package=scorm_lesson)
    values = {"cmi.core.lesson_status": "passed", "cmi.core.session_time": "00:03:00"}
    results = raise_first(race(8, lambda i: scorm_commit(user=rep, package=scorm_lesson, token=token,
                                                         session="race0session", sequence=1, values=values)))
    assert sum(1 for _registration, applied in results if applied) == 1
    registration = ScormRegistration.objects.get(user=rep)
    assert ScormCommit.objects.filter(registration=registration).count() == 1
    assert registration.time_spent_seconds == 180 and registration.completed_at is not None


def test_different_first_commits_racing_make_one_registration_with_all_commits(scorm_lesson):
    rep = user_with_role("rep")
    token = launch_token(user=rep, package=scorm_lesson)
    raise_first(race(6, lambda i: scorm_commit(user=rep, package=scorm_lesson, token=token, session="race1session",
                                               sequence=i, values={"cmi.core.lesson_location": f"p{i}"})))
    registration = ScormRegistration.objects.get(user=rep)
    assert ScormCommit.objects.filter(registration=registration).count() == 6
