"""The learning admin in zh-hans: sales teams, curricula, assignments and product qualification. Each list opens
for staff with the capability and refuses the others; create and edit write through the audited services; bad,
missing or duplicate input shows a Chinese error and writes nothing."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from engage.audit.models import AuditEntry
from learning.assignments.models import Assignment, Curriculum, ProductRequirement, RepAssignment
from members.teams.models import Team, TeamMembership
from tests.factories import user_with_role
from tests.learning.quals import (
    certify,
    make_course,
    make_curriculum,
    make_manager,
    make_product,
    make_rep,
    make_team,
    require,
)

pytestmark = pytest.mark.django_db
ZH = {"Accept-Language": "zh-hans"}
LISTS = {
    "/admin/sales_teams/": "销售团队",
    "/admin/learning_curricula/": "课程体系",
    "/admin/learning_assignments/": "学习任务",
    "/admin/learning_product_requirements/": "产品资格",
}


def _client(role):
    client = Client(headers=ZH)
    client.force_login(user_with_role(role))
    return client


def _page(response) -> str:
    return response.content.decode()


@pytest.mark.parametrize("url", LISTS)
def test_each_list_opens_in_chinese_for_marketing(url):
    response = _client("marketing").get(url)
    assert response.status_code == 200
    page = _page(response)
    assert LISTS[url] in page and 'lang="zh-hans"' in page


@pytest.mark.parametrize("url", [*LISTS, *(f"{u}new/" for u in LISTS)])
@pytest.mark.parametrize("role", ["medical_reviewer", "compliance"])
def test_staff_without_the_capability_are_refused(url, role):
    response = _client(role).get(url)
    assert response.status_code == 302 and response["Location"] == "/admin/"


@pytest.mark.parametrize("url", LISTS)
def test_reps_and_managers_never_reach_the_admin(url):
    for user in (make_rep(), make_manager()):
        client = Client(headers=ZH)
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_refused_staff_write_nothing():
    rep = make_rep()
    _client("medical_reviewer").post("/admin/sales_teams/new/", {"name": "偷建的组", "reps": [rep.pk]})
    assert not Team.objects.exists()


# --- sales teams --------------------------------------------------------------------------------------------------


def test_team_create_and_edit_write_through_the_service():
    manager, reps = make_manager(), [make_rep(), make_rep(), make_rep()]
    other = make_team(reps=[reps[2]])
    client = _client("marketing")
    response = client.post("/admin/sales_teams/new/", {"name": " 华南一组 ", "manager": manager.pk,
                                                        "reps": [reps[0].pk, reps[1].pk]})
    assert response.status_code == 302
    team = Team.objects.get(name="华南一组")
    assert team.manager == manager
    assert set(team.memberships.values_list("rep_id", flat=True)) == {reps[0].pk, reps[1].pk}
    assert AuditEntry.objects.get(action="members.team.created", object_id=str(team.pk)).after["reps"] == sorted(
        [reps[0].pk, reps[1].pk])
    # The edit page is pre-filled with the team as it is.
    page = _page(client.get(f"/admin/sales_teams/edit/{team.pk}/"))
    assert 'value="华南一组"' in page
    # Renamed; rep 0 leaves, rep 2 moves over from the other team.
    response = client.post(f"/admin/sales_teams/edit/{team.pk}/", {"name": "华南二组", "manager": "",
                                                                   "reps": [reps[1].pk, reps[2].pk]})
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.name == "华南二组" and team.manager is None
    assert set(team.memberships.values_list("rep_id", flat=True)) == {reps[1].pk, reps[2].pk}
    assert not TeamMembership.objects.filter(rep=reps[0]).exists()
    assert not other.memberships.exists()
    entry = AuditEntry.objects.get(action="members.team.updated")
    assert entry.before["name"] == "华南一组" and entry.before["reps"] == sorted([reps[0].pk, reps[1].pk])


def test_team_duplicate_missing_and_malformed_input_is_refused_in_chinese():
    make_team(name="华东一组")
    staff = user_with_role("marketing")
    client = Client(headers=ZH)
    client.force_login(staff)
    duplicate = client.post("/admin/sales_teams/new/", {"name": "华东一组"})
    assert duplicate.status_code == 200 and "已有同名团队" in _page(duplicate)
    missing = client.post("/admin/sales_teams/new/", {"name": "  "})
    assert missing.status_code == 200 and "此字段为必填项" in _page(missing)
    not_a_manager = client.post("/admin/sales_teams/new/", {"name": "新组", "manager": staff.pk})
    assert not_a_manager.status_code == 200 and "选择一个有效的选项" in _page(not_a_manager)
    assert list(Team.objects.values_list("name", flat=True)) == ["华东一组"]
    assert not AuditEntry.objects.filter(action="members.team.created", actor_id=staff.pk).exists()


# --- curricula ----------------------------------------------------------------------------------------------------


def test_curriculum_create_and_edit_keep_the_order_of_the_courses():
    first, second, third = make_course(lessons=0), make_course(lessons=0), make_course(lessons=0)
    client = _client("marketing")
    response = client.post("/admin/learning_curricula/new/", {
        "title": "上岗认证", "description": "", "validity_months": "24",
        "course_1": second.pk, "course_2": "", "course_3": first.pk})
    assert response.status_code == 302
    curriculum = Curriculum.objects.get(title="上岗认证")
    assert curriculum.validity_months == 24
    assert list(curriculum.items.values_list("course_id", flat=True)) == [second.pk, first.pk]
    assert AuditEntry.objects.filter(action="learning.curriculum.created", object_id=str(curriculum.pk)).exists()
    page = _page(client.get(f"/admin/learning_curricula/edit/{curriculum.pk}/"))
    assert 'value="上岗认证"' in page and "第 1 门课程" in page
    response = client.post(f"/admin/learning_curricula/edit/{curriculum.pk}/", {
        "title": "上岗认证（新版）", "description": "合规与产品", "validity_months": "12",
        "course_1": third.pk, "course_2": first.pk, "course_3": second.pk})
    assert response.status_code == 302
    curriculum.refresh_from_db()
    assert (curriculum.title, curriculum.validity_months) == ("上岗认证（新版）", 12)
    assert list(curriculum.items.values_list("course_id", flat=True)) == [third.pk, first.pk, second.pk]
    entry = AuditEntry.objects.get(action="learning.curriculum.updated")
    assert entry.before["courses"] == [second.pk, first.pk] and entry.after["courses"] == [third.pk, first.pk,
                                                                                           second.pk]


def test_curriculum_bad_input_is_refused_in_chinese_and_writes_nothing():
    course = make_course(lessons=0)
    existing = make_curriculum(courses=[course], title="合规认证")
    client = _client("marketing")
    cases = [
        ({"title": "新体系", "validity_months": "12", "course_1": course.pk, "course_2": course.pk}, "不同的课程"),
        ({"title": "新体系", "validity_months": "12"}, "不同的课程"),
        ({"title": "合规认证", "validity_months": "12", "course_1": course.pk}, "已有同名课程体系"),
        ({"title": "新体系", "validity_months": "abc", "course_1": course.pk}, "输入整数"),
        ({"title": "", "validity_months": "12", "course_1": course.pk}, "此字段为必填项"),
        ({"title": "新体系", "validity_months": "12", "course_1": "999999"}, "选择一个有效的选项"),
    ]
    for data, message in cases:
        response = client.post("/admin/learning_curricula/new/", {"description": "", **data})
        assert response.status_code == 200, data
        assert message in _page(response), data
    assert list(Curriculum.objects.all()) == [existing]
    # Editing into another curriculum's title is refused too, and changes nothing.
    other = make_curriculum(courses=[course], title="产品认证")
    response = client.post(f"/admin/learning_curricula/edit/{other.pk}/", {
        "title": "合规认证", "validity_months": "6", "course_1": course.pk})
    assert response.status_code == 200 and "已有同名课程体系" in _page(response)
    other.refresh_from_db()
    assert (other.title, other.validity_months) == ("产品认证", 12)


# --- assignments --------------------------------------------------------------------------------------------------


def test_assignment_create_expands_to_the_team_and_shows_each_reps_status():
    done, late, waiting, outsider = make_rep(), make_rep(), make_rep(), make_rep()
    team = make_team(reps=[done, late, waiting])
    course = make_course(lessons=0)
    certify(done, course)
    client = _client("marketing")
    response = client.post("/admin/learning_assignments/new/", {
        "course": course.pk, "audience": "team", "team": team.pk, "due_rule": "after_assignment",
        "due_days": "14", "recurrence_months": "12"})
    assert response.status_code == 302
    assignment = Assignment.objects.get()
    assert (assignment.course, assignment.team, assignment.due_days, assignment.recurrence_months) == (
        course, team, 14, 12)
    assert set(RepAssignment.objects.values_list("rep_id", flat=True)) == {done.pk, late.pk, waiting.pk}
    assert AuditEntry.objects.get(action="learning.assignment.created").after["reps"] == 3
    RepAssignment.objects.filter(rep=late).update(due_at=timezone.now() - timedelta(days=1))

    listing = _page(client.get("/admin/learning_assignments/"))
    assert course.title in listing and "某团队" in listing
    detail = _page(client.get(f"/admin/learning_assignments/inspect/{assignment.pk}/"))
    rows = detail.split('data-testid="assignment-rounds"')[1]
    assert done.display_name in rows and late.display_name in rows and waiting.display_name in rows
    assert outsider.display_name not in rows
    assert 'data-status="completed"' in rows and 'data-status="overdue"' in rows and 'data-status="due"' in rows
    assert "已完成" in rows and "已逾期" in rows and "待完成" in rows
    assert "已完成：1 · 已逾期：1 · 待完成：1" in detail


def test_assignment_with_a_fixed_date_to_named_reps():
    rep, other = make_rep(), make_rep()
    curriculum = make_curriculum(courses=[make_course(lessons=0)])
    due = timezone.localdate() + timedelta(days=30)
    response = _client("marketing").post("/admin/learning_assignments/new/", {
        "curriculum": curriculum.pk, "audience": "people", "people": [rep.pk], "due_rule": "fixed",
        "due_on": due.isoformat()})
    assert response.status_code == 302
    round_ = RepAssignment.objects.get()
    assert round_.rep == rep and timezone.localtime(round_.due_at).date() == due
    assert timezone.localtime(round_.due_at).hour == 23
    assert not RepAssignment.objects.filter(rep=other).exists()


def test_assignment_bad_input_is_refused_in_chinese_and_writes_nothing():
    course = make_course(lessons=0)
    curriculum = make_curriculum(courses=[course])
    client = _client("marketing")
    base = {"course": course.pk, "audience": "all_reps", "due_rule": "after_assignment", "due_days": "7"}
    cases = [
        ({**base, "curriculum": curriculum.pk}, "二选一"),
        ({**base, "course": ""}, "二选一"),
        ({**base, "audience": "team"}, "请选择团队"),
        ({**base, "due_days": "abc"}, "输入整数"),
        ({**base, "due_days": ""}, "天数"),
        ({**base, "due_rule": "fixed", "due_on": (timezone.localdate() - timedelta(days=1)).isoformat()}, "必须在未来"),
        ({**base, "due_rule": "fixed", "due_on": "2026-13-45"}, "有效的日期"),
        ({**base, "audience": "everyone"}, "选择一个有效的选项"),
        ({**base, "recurrence_months": "0"}, "大于或等于"),
    ]
    for data, message in cases:
        response = client.post("/admin/learning_assignments/new/", data)
        assert response.status_code == 200, data
        assert message in _page(response), (data, message)
    assert not Assignment.objects.exists() and not RepAssignment.objects.exists()


def test_assignments_cannot_be_edited_in_the_admin():
    course = make_course(lessons=0)
    _client("marketing").post("/admin/learning_assignments/new/", {
        "course": course.pk, "audience": "all_reps", "due_rule": "after_assignment", "due_days": "7"})
    assignment = Assignment.objects.get()
    response = _client("marketing").get(f"/admin/learning_assignments/edit/{assignment.pk}/")
    assert response.status_code in (302, 404)


# --- product qualification ----------------------------------------------------------------------------------------


def test_product_requirements_list_counts_the_reps_not_qualified():
    course = make_course(lessons=0)
    curriculum = make_curriculum(courses=[course], title="阿卡波糖上岗认证")
    product = require(curriculum, make_product("拜糖平"))
    qualified, _unqualified, _also = make_rep(), make_rep(), make_rep()
    certify(qualified, course)
    user_with_role("marketing")  # staff are not counted
    page = _page(_client("marketing").get("/admin/learning_product_requirements/"))
    row = page.split(product.name, 1)[1].split("</tr>", 1)[0]
    assert "阿卡波糖上岗认证" in row
    assert ">2<" in row.replace(" ", "").replace("\n", "")


def test_product_requirement_create_edit_delete_write_through_the_service():
    product = make_product("捷诺维")
    first = make_curriculum(courses=[make_course(lessons=0)])
    second = make_curriculum(courses=[make_course(lessons=0)])
    client = _client("marketing")
    response = client.post("/admin/learning_product_requirements/new/", {"product": product.pk,
                                                                          "curriculum": first.pk})
    assert response.status_code == 302
    requirement = ProductRequirement.objects.get(product=product)
    assert requirement.curriculum == first
    response = client.post(f"/admin/learning_product_requirements/edit/{requirement.pk}/",
                           {"product": make_product().pk, "curriculum": second.pk})
    assert response.status_code == 302
    requirement.refresh_from_db()
    assert (requirement.product, requirement.curriculum) == (product, second)  # the product stays
    response = client.post(f"/admin/learning_product_requirements/delete/{requirement.pk}/")
    assert response.status_code == 302
    assert not ProductRequirement.objects.exists()
    entries = list(AuditEntry.objects.filter(action="learning.product_requirement.set").order_by("pk")
                   .values_list("after", flat=True))
    assert entries == [{"curriculum": first.pk}, {"curriculum": second.pk}, {"curriculum": None}]


def test_product_requirement_duplicate_and_missing_input_is_refused_in_chinese():
    product = make_product()
    curriculum = make_curriculum(courses=[make_course(lessons=0)])
    require(curriculum, product)
    other = make_curriculum(courses=[make_course(lessons=0)])
    client = _client("marketing")
    duplicate = client.post("/admin/learning_product_requirements/new/", {"product": product.pk,
                                                                           "curriculum": other.pk})
    assert duplicate.status_code == 200 and "已要求" in _page(duplicate)
    missing = client.post("/admin/learning_product_requirements/new/", {"product": make_product().pk})
    assert missing.status_code == 200 and "此字段为必填项" in _page(missing)
    assert list(ProductRequirement.objects.values_list("product_id", "curriculum_id")) == [
        (product.pk, curriculum.pk)]
