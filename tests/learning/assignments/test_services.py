"""Assignments: audiences (role, team, territory, product line, named reps), due rules (fixed, after assignment,
after joining), validation with nothing stored, completion by a certificate, reps who join later, and the
reminders a week before and on the day to the rep and their manager (once, over the consented channels)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from engage.audit.models import AuditEntry
from engage.core.errors import DomainError, PermissionDenied
from engage.inbox.models import Notification
from learning.assignments.models import Assignment, AssignmentAudience, DueRule, ProductRequirement, RepAssignment
from learning.assignments.services import (
    assignment_create,
    assignment_reminders_send,
    assignments_sync,
    curriculum_update,
    product_requirement_set,
)
from members.hospitals.models import Territory, TherapyArea
from members.teams.services import team_update
from tests.factories import user_with_role
from tests.learning.quals import (
    certify,
    make_course,
    make_curriculum,
    make_manager,
    make_product,
    make_rep,
    make_team,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    return user_with_role("marketing")


@pytest.fixture
def course():
    return make_course(lessons=0)


def _reps_of(assignment):
    return set(RepAssignment.objects.filter(assignment=assignment).values_list("rep_id", flat=True))


def test_audiences(staff, course):
    area, _created = TherapyArea.objects.get_or_create(code="dm-quals", defaults={"name": "糖尿病（测试）"})
    a, b, c = make_rep(), make_rep(), make_rep()
    team = make_team(reps=[a, b])
    make_team(reps=[c], product_line=area)
    territory = Territory.objects.create(code="sh", name="上海")
    territory.reps.add(b)
    user_with_role("doctor")
    common = {"actor": staff, "course": course, "due_rule": DueRule.AFTER_ASSIGNMENT, "due_days": 14}
    assert _reps_of(assignment_create(audience=AssignmentAudience.ALL_REPS, **common)) == {a.pk, b.pk, c.pk}
    assert _reps_of(assignment_create(audience=AssignmentAudience.TEAM, team=team, **common)) == {a.pk, b.pk}
    assert _reps_of(assignment_create(audience=AssignmentAudience.TERRITORY, territory=territory, **common)) == {b.pk}
    assert _reps_of(assignment_create(audience=AssignmentAudience.PRODUCT_LINE, product_line=area, **common)) == {c.pk}
    assert _reps_of(assignment_create(audience=AssignmentAudience.PEOPLE, people=[a, c], **common)) == {a.pk, c.pk}
    assert AuditEntry.objects.filter(action="learning.assignment.created").count() == 5


def test_due_rules(staff, course):
    rep = make_rep()
    rep.date_joined = timezone.now() - timedelta(days=10)
    rep.save(update_fields=["date_joined"])
    fixed = timezone.now() + timedelta(days=20)
    common = {"actor": staff, "course": course, "audience": AssignmentAudience.PEOPLE, "people": [rep]}
    a = assignment_create(due_rule=DueRule.FIXED, due_on=fixed, **common)
    b = assignment_create(due_rule=DueRule.AFTER_ASSIGNMENT, due_days=30, **common)
    c = assignment_create(due_rule=DueRule.AFTER_JOINING, due_days=30, **common)
    assert RepAssignment.objects.get(assignment=a).due_at == fixed
    row = RepAssignment.objects.get(assignment=b)
    assert row.due_at == row.assigned_at + timedelta(days=30)
    assert RepAssignment.objects.get(assignment=c).due_at == rep.date_joined + timedelta(days=30)


@pytest.mark.parametrize(("changes", "code"), [
    ({"course": None}, "invalid_assignment"),
    ({"curriculum": "both"}, "invalid_assignment"),
    ({"audience": "everyone"}, "invalid_assignment"),
    ({"audience": AssignmentAudience.TEAM}, "invalid_assignment"),
    ({"people": []}, "invalid_assignment"),
    ({"due_rule": "someday"}, "invalid_due"),
    ({"due_rule": DueRule.FIXED, "due_on": None}, "invalid_due"),
    ({"due_rule": DueRule.FIXED, "due_on": "past"}, "invalid_due"),
    ({"due_days": 0}, "invalid_due"),
    ({"due_days": 100000}, "invalid_due"),
    ({"recurrence_months": 0}, "invalid_recurrence"),
    ({"people": "doctor"}, "not_a_rep"),
])
def test_bad_input_is_refused_and_nothing_is_stored(staff, course, changes, code):
    rep = make_rep()
    kwargs = {"actor": staff, "course": course, "audience": AssignmentAudience.PEOPLE, "people": [rep],
              "due_rule": DueRule.AFTER_ASSIGNMENT, "due_days": 7}
    kwargs.update(changes)
    if kwargs.get("curriculum") == "both":
        kwargs["curriculum"] = make_curriculum(courses=[course])
    if kwargs.get("due_on") == "past":
        kwargs["due_on"] = timezone.now() - timedelta(days=1)
    if kwargs.get("people") == "doctor":
        kwargs["people"] = [user_with_role("doctor")]
    with pytest.raises(DomainError) as refused:
        assignment_create(**kwargs)
    assert refused.value.code == code
    assert not Assignment.objects.exists() and not RepAssignment.objects.exists()


def test_only_assignment_managers_assign(course):
    for role in ("rep", "compliance", "medical_reviewer"):
        with pytest.raises(DomainError) as refused:
            assignment_create(actor=user_with_role(role), course=course, audience=AssignmentAudience.ALL_REPS,
                              due_rule=DueRule.AFTER_ASSIGNMENT, due_days=7)
        assert refused.value.code == "forbidden"


def test_a_certificate_completes_the_round_and_a_held_one_counts_at_once(staff):
    first, second = make_course(lessons=0), make_course(lessons=0)
    curriculum = make_curriculum(courses=[first, second])
    done, todo = make_rep(), make_rep()
    certify(done, first)
    certify(done, second)
    assignment = assignment_create(actor=staff, curriculum=curriculum, audience=AssignmentAudience.PEOPLE,
                                   people=[done, todo], due_rule=DueRule.AFTER_ASSIGNMENT, due_days=7)
    assert RepAssignment.objects.get(assignment=assignment, rep=done).completed_at is not None
    row = RepAssignment.objects.get(assignment=assignment, rep=todo)
    certify(todo, first)
    row.refresh_from_db()
    assert row.completed_at is None  # half the curriculum is not the curriculum
    certify(todo, second)
    row.refresh_from_db()
    assert row.completed_at is not None and row.certificate.curriculum == curriculum


def test_the_sync_gives_reps_who_join_the_team_later_their_round_once(staff, course):
    team = make_team(reps=[make_rep()])
    assignment = assignment_create(actor=staff, course=course, audience=AssignmentAudience.TEAM, team=team,
                                   due_rule=DueRule.AFTER_ASSIGNMENT, due_days=7)
    newcomer = make_rep()
    from members.teams.services import team_member_set

    team_member_set(actor=None, team=team, rep=newcomer)
    assert assignments_sync()["created"] == 1
    assert assignments_sync()["created"] == 0
    assert newcomer.pk in _reps_of(assignment)


def test_reminders_a_week_before_and_on_the_day_to_rep_and_manager_once(staff, course):
    manager = make_manager()
    rep = make_rep()
    make_team(manager=manager, reps=[rep])
    due = timezone.now() + timedelta(days=10)
    assignment = assignment_create(actor=staff, course=course, audience=AssignmentAudience.PEOPLE, people=[rep],
                                   due_rule=DueRule.FIXED, due_on=due)
    row = RepAssignment.objects.get(assignment=assignment)
    assert assignment_reminders_send(now=due - timedelta(days=8)) == 0
    week = due - timedelta(days=6)
    assert assignment_reminders_send(now=week) == 1
    assert assignment_reminders_send(now=week) == 0
    assert Notification.objects.filter(user=rep, key=f"learning.assignment:{row.pk}:week").count() == 1
    assert Notification.objects.filter(user=manager, key__startswith=f"learning.assignment:{row.pk}:week").count() == 1
    assert assignment_reminders_send(now=due - timedelta(minutes=5)) == 1
    assert assignment_reminders_send(now=due + timedelta(days=1)) == 0
    assert Notification.objects.filter(user=rep, kind="learning.assignment").count() == 2
    assert Notification.objects.filter(user=manager, kind="learning.assignment").count() == 2


def test_a_missed_day_is_reported_overdue_and_completed_rounds_are_left_alone(staff, course):
    rep, done = make_rep(), make_rep()
    assignment = assignment_create(actor=staff, course=course, audience=AssignmentAudience.PEOPLE,
                                   people=[rep, done], due_rule=DueRule.AFTER_ASSIGNMENT, due_days=1)
    certify(done, course)
    later = timezone.now() + timedelta(days=3)
    assert assignment_reminders_send(now=later) == 1
    note = Notification.objects.get(user=rep, kind="learning.assignment")
    assert str(note.title) == "学习任务已逾期" or "overdue" in note.title.lower()
    assert not Notification.objects.filter(user=done, kind="learning.assignment").exists()
    row = RepAssignment.objects.get(assignment=assignment, rep=rep)
    assert row.reminded_week_at is not None and row.reminded_due_at is not None


# --- teams and curricula written by the admin screens ------------------------------------------------------------


def test_team_update_and_curriculum_update_need_their_capabilities_and_change_nothing_otherwise(course):

    rep = make_rep()
    team = make_team(name="原名", reps=[rep])
    curriculum = make_curriculum(courses=[course], title="原体系")
    outsider = user_with_role("medical_reviewer")
    with pytest.raises(PermissionDenied):
        team_update(actor=outsider, team=team, name="新名", reps=[])
    with pytest.raises(PermissionDenied):
        curriculum_update(actor=outsider, curriculum=curriculum, title="新体系", courses=[course], validity_months=6)
    team.refresh_from_db()
    curriculum.refresh_from_db()
    assert team.name == "原名" and team.memberships.get().rep == rep
    assert (curriculum.title, curriculum.validity_months) == ("原体系", 12)


def test_team_members_must_be_reps_and_a_refused_change_keeps_the_old_members():

    rep, manager = make_rep(), make_manager()
    team = make_team(reps=[rep])
    staff = user_with_role("marketing")
    with pytest.raises(DomainError) as refused:
        team_update(actor=staff, team=team, name=team.name, manager=None, reps=[manager])
    assert refused.value.code == "not_a_rep"
    with pytest.raises(DomainError) as refused:
        team_update(actor=staff, team=team, name=team.name, manager=rep, reps=[rep])
    assert refused.value.code == "not_a_manager"
    assert list(team.memberships.values_list("rep_id", flat=True)) == [rep.pk]


def test_adding_a_requirement_for_a_product_that_has_one_is_refused(course):

    product = make_product()
    first, second = make_curriculum(courses=[course]), make_curriculum(courses=[course])
    staff = user_with_role("marketing")
    product_requirement_set(actor=staff, product=product, curriculum=first, must_be_new=True)
    with pytest.raises(DomainError) as refused:
        product_requirement_set(actor=staff, product=product, curriculum=second, must_be_new=True)
    assert refused.value.code == "requirement_exists"
    assert ProductRequirement.objects.get(product=product).curriculum == first
    product_requirement_set(actor=staff, product=product, curriculum=second)  # changing is what edit does
    assert ProductRequirement.objects.get(product=product).curriculum == second
