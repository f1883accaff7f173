"""Rep pages and the assignments API: what is due (overdue marked), a curriculum, a rep's learning page for
the rep, their manager (their team only) and staff; assigning through the API (staff only, bad input refused)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from learning.assignments.models import Assignment, AssignmentAudience, DueRule, RepAssignment
from learning.assignments.services import assignment_create
from tests.factories import user_with_role
from tests.learning.quals import make_course, make_curriculum, make_manager, make_rep, make_team

pytestmark = pytest.mark.django_db


def test_the_rep_sees_what_is_due_and_what_is_overdue(client):
    rep, course = make_rep(), make_course(lessons=0)
    staff = user_with_role("marketing")
    assignment_create(actor=staff, course=course, audience=AssignmentAudience.PEOPLE, people=[rep],
                      due_rule=DueRule.AFTER_ASSIGNMENT, due_days=7)
    late = assignment_create(actor=staff, course=make_course(lessons=0), audience=AssignmentAudience.PEOPLE,
                             people=[rep], due_rule=DueRule.AFTER_ASSIGNMENT, due_days=3)
    RepAssignment.objects.filter(assignment=late).update(due_at=timezone.now() - timedelta(days=1))
    client.force_login(rep)
    page = client.get(reverse("learning:assignments_mine")).content.decode()
    assert page.count('data-testid="assignment-round"') == 2
    assert page.count('data-testid="assignment-overdue"') == 1
    rounds = client.get("/api/v1/learning/me/assignments").json()
    assert sorted(r["overdue"] for r in rounds) == [False, True]


def test_curriculum_page(client):
    course = make_course(lessons=0)
    curriculum = make_curriculum(courses=[course])
    client.force_login(make_rep())
    page = client.get(reverse("learning:curriculum", args=[curriculum.pk])).content.decode()
    assert course.title in page
    client.force_login(user_with_role("doctor"))
    assert client.get(reverse("learning:curriculum", args=[curriculum.pk])).status_code == 404


def test_a_manager_sees_their_team_only(client):
    manager, other_manager = make_manager(), make_manager()
    mine, theirs = make_rep(), make_rep()
    make_team(manager=manager, reps=[mine])
    make_team(manager=other_manager, reps=[theirs])
    client.force_login(manager)
    assert client.get(reverse("learning:rep_learning", args=[mine.pk])).status_code == 200
    assert client.get(reverse("learning:rep_learning", args=[theirs.pk])).status_code == 404
    client.force_login(mine)
    assert client.get(reverse("learning:rep_learning", args=[mine.pk])).status_code == 200
    assert client.get(reverse("learning:rep_learning", args=[theirs.pk])).status_code == 404
    client.force_login(user_with_role("compliance"))
    assert client.get(reverse("learning:rep_learning", args=[theirs.pk])).status_code == 200


def test_assign_through_the_api(client):
    rep, course = make_rep(), make_course(lessons=0)
    body = {"course": course.pk, "audience": "people", "people": [rep.pk], "due_rule": "after_assignment",
            "due_days": 14, "recurrence_months": 12}
    client.force_login(rep)
    assert client.post("/api/v1/learning/assignments", body, content_type="application/json").status_code == 403
    client.force_login(user_with_role("marketing"))
    response = client.post("/api/v1/learning/assignments", body, content_type="application/json")
    assert response.status_code == 201 and response.json()["reps"] == 1
    for bad, code in (({"course": 999999}, "unknown_reference"), ({"people": [999999]}, "unknown_reference"),
                      ({"due_rule": "never"}, "invalid_due"), ({"audience": "moon"}, "invalid_assignment")):
        response = client.post("/api/v1/learning/assignments", {**body, **bad}, content_type="application/json")
        assert response.status_code == 400 and response.json()["code"] == code
    for bad in ({"due_days": -1}, {"unknown": 1}, {"people": "x"}):
        response = client.post("/api/v1/learning/assignments", {**body, **bad}, content_type="application/json")
        assert response.status_code in (400, 422)
    assert Assignment.objects.count() == 1
