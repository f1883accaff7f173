"""The learning dashboard: a manager sees their team, training staff see everyone, reps and doctors nobody;
completion and overdue per team and course, reps not qualified per product, and the Excel export."""

import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from learning.assignments.models import AssignmentAudience, DueRule, RepAssignment
from learning.assignments.services import assignment_create
from learning.dashboards.selectors import learning_dashboard
from tests.factories import user_with_role
from tests.learning.quals import certify, make_course, make_curriculum, make_manager, make_rep, make_team, require

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    manager = make_manager()
    a, b, outsider = make_rep(), make_rep(), make_rep()
    make_team(manager=manager, reps=[a, b], name="华东一组")
    make_team(reps=[outsider], name="华北组")
    course = make_course(lessons=0)
    curriculum = make_curriculum(courses=[course], title="降糖产品认证")
    product = require(curriculum)
    assignment = assignment_create(actor=user_with_role("marketing"), curriculum=curriculum,
                                   audience=AssignmentAudience.ALL_REPS, due_rule=DueRule.AFTER_ASSIGNMENT,
                                   due_days=7)
    certify(a, course)
    RepAssignment.objects.filter(assignment=assignment, rep=b).update(due_at=timezone.now() - timedelta(days=1))
    return type("S", (), {"manager": manager, "a": a, "b": b, "outsider": outsider, "product": product})


def test_the_manager_sees_their_team_only(setup):
    board = learning_dashboard(user=setup.manager)
    assert board.completion == [{"team": "华东一组", "target": "降糖产品认证", "assigned": 2, "completed": 1,
                                 "overdue": 1, "percent": 50}]
    assert board.not_qualified == [{"product": setup.product.name, "curriculum": "降糖产品认证",
                                    "reps": [setup.b.display_name]}]


def test_training_staff_see_every_team(setup):
    board = learning_dashboard(user=user_with_role("compliance"))
    assert {g["team"] for g in board.completion} == {"华东一组", "华北组"}
    assert set(board.not_qualified[0]["reps"]) == {setup.b.display_name, setup.outsider.display_name}


def test_pages_and_export(client, setup):
    client.force_login(setup.manager)
    page = client.get(reverse("learning:dashboard")).content.decode()
    assert "华东一组" in page and "华北组" not in page
    response = client.get(reverse("learning:dashboard_export"))
    book = load_workbook(io.BytesIO(response.content))
    assert len(book.sheetnames) == 4
    rows = list(book.worksheets[0].values)
    assert rows[1][:5] == ("华东一组", "降糖产品认证", 2, 1, 1)
    for user in (setup.a, user_with_role("doctor")):
        client.force_login(user)
        assert client.get(reverse("learning:dashboard")).status_code == 403
        assert client.get(reverse("learning:dashboard_export")).status_code == 403
