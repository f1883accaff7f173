"""Wagtail admin for hospitals and departments: role matrix, filters, search, duplicates, bad input."""

import pytest

from engage.audit.models import AuditEntry
from members.models import Department, Hospital
from tests.factories import DepartmentFactory, HospitalFactory

pytestmark = pytest.mark.django_db
HOSPITALS = "/admin/hospitals/"
DEPARTMENTS = "/admin/departments/"
MATRIX = [("marketing", True, True), ("admin", True, True), ("compliance", True, False),
          ("medical_reviewer", False, False), ("doctor", False, False), ("rep", False, False), (None, False, False)]


def hospital_form(**overrides):
    data = {"name": "浙江省人民医院", "aliases": "浙江人民医院\n省人民", "province": "浙江省", "city": "杭州市",
            "district": "", "level": "3", "grade": "甲", "hospital_type": "general", "beds": "3000",
            "yearly_outpatient_visits": "", "address": "", "latitude": "", "longitude": "", "status": "active"}
    data.update(overrides)
    return data


@pytest.fixture
def pumch():
    return HospitalFactory(name="北京协和医院", province="北京市", city="北京市")


@pytest.mark.parametrize("role,can_view,can_edit", MATRIX)
def test_hospital_admin_role_matrix(client, role_user, pumch, role, can_view, can_edit):
    if role:
        client.force_login(role_user(role))
    index = client.get(HOSPITALS)
    assert (index.status_code == 200) == can_view
    if not can_view:
        assert index.status_code in (302, 403)
    for url in (f"{HOSPITALS}new/", f"{HOSPITALS}edit/{pumch.pk}/", f"{DEPARTMENTS}new/"):
        status = client.get(url).status_code
        assert (status == 200) == can_edit, (url, status)
    client.post(f"{HOSPITALS}new/", hospital_form())
    assert Hospital.objects.filter(name="浙江省人民医院").exists() == can_edit


def test_filters_and_search(client, role_user, pumch):
    HospitalFactory(name="复旦大学附属中山医院", province="上海市", city="上海市")
    HospitalFactory(name="待批医院", province="上海市", city="上海市", status=Hospital.Status.PROPOSED)
    client.force_login(role_user("marketing"))
    page = client.get(HOSPITALS, {"province": "上海市"}).content.decode()
    assert "复旦大学附属中山医院" in page and "北京协和医院" not in page
    page = client.get(HOSPITALS, {"status": "proposed"}).content.decode()
    assert "待批医院" in page and "复旦大学附属中山医院" not in page
    page = client.get(HOSPITALS, {"q": "bjxh"}).content.decode()
    assert "北京协和医院" in page and "复旦大学附属中山医院" not in page
    Hospital.objects.filter(pk=pumch.pk).update(aliases=["PUMCH"])
    page = client.get(HOSPITALS, {"q": "pumch"}).content.decode()
    assert "北京协和医院" in page and "复旦大学附属中山医院" not in page
    for params in ({"province": "火星"}, {"level": "9"}, {"q": "%"}, {"city": "<script>"}, {"p": "abc"}):
        assert client.get(HOSPITALS, params).status_code == 200


def test_create_and_edit_go_through_the_service(client, role_user, pumch):
    endo = DepartmentFactory()
    client.force_login(role_user("marketing"))
    response = client.post(f"{HOSPITALS}new/", hospital_form(departments=[endo.pk]))
    assert response.status_code == 302
    created = Hospital.objects.get(name="浙江省人民医院")
    assert created.aliases == ["浙江人民医院", "省人民"]
    assert list(created.departments.all()) == [endo]
    assert created.pinyin_initials == "ZJSRMYY"
    assert AuditEntry.objects.filter(action="hospital.create", object_id=str(created.pk)).exists()
    response = client.post(f"{HOSPITALS}edit/{created.pk}/", hospital_form(beds="3100"))
    assert response.status_code == 302
    created.refresh_from_db()
    assert created.beds == 3100
    assert AuditEntry.objects.get(action="hospital.update").before["beds"] == 3000


@pytest.mark.parametrize("overrides", [
    {"name": " 北京 协和医院", "city": "北京市"},  # duplicate after normalising
    {"name": ""}, {"province": ""}, {"city": ""}, {"name": "x" * 201}, {"beds": "-1"}, {"beds": "lots"},
    {"level": "9"}, {"grade": "甲", "level": "0"}, {"latitude": "1000"}, {"aliases": "a" * 2001},
    {"aliases": "、".join(["别名"] * 0 + [f"别名{n}" for n in range(21)])}, {"status": "bogus"},
    {"departments": ["999999"]},
])
def test_bad_hospital_input_is_refused_and_nothing_changes(client, role_user, pumch, overrides):
    client.force_login(role_user("marketing"))
    before = Hospital.objects.count()
    response = client.post(f"{HOSPITALS}new/", hospital_form(**overrides))
    assert response.status_code == 200  # the form again, with errors
    assert Hospital.objects.count() == before


def test_editing_into_a_duplicate_is_refused(client, role_user, pumch):
    other = HospitalFactory(name="北京大学第一医院", province="北京市", city="北京市")
    client.force_login(role_user("marketing"))
    response = client.post(f"{HOSPITALS}edit/{other.pk}/", hospital_form(name="北京协和医院", city="北京市",
                                                                          province="北京市"))
    assert response.status_code == 200
    other.refresh_from_db()
    assert other.name == "北京大学第一医院"


def test_html_in_names_is_escaped(client, role_user):
    HospitalFactory(name="<img src=x onerror=alert(1)>医院")
    client.force_login(role_user("marketing"))
    page = client.get(HOSPITALS).content.decode()
    assert "<img src=x onerror=alert(1)>" not in page


def test_departments_can_be_added_by_marketing(client, role_user):
    client.force_login(role_user("marketing"))
    response = client.post(f"{DEPARTMENTS}new/", {"name": "疼痛科", "name_en": "Pain medicine", "code": "pain"})
    assert response.status_code == 302
    assert Department.objects.filter(code="pain").exists()
    assert "疼痛科" in client.get(DEPARTMENTS).content.decode()
    for bad in ({"name": "疼痛科", "code": "pain2"}, {"name": "x", "code": "not a slug"}, {"name": "  ", "code": "y"},
                {"name": "z" * 101, "code": "z"}):
        assert client.post(f"{DEPARTMENTS}new/", bad).status_code == 200
    assert Department.objects.filter(name__in=["x", "z" * 101]).count() == 0


def test_compliance_reads_departments_but_cannot_add(client, role_user):
    client.force_login(role_user("compliance"))
    assert client.get(DEPARTMENTS).status_code == 200
    client.post(f"{DEPARTMENTS}new/", {"name": "疼痛科", "code": "pain"})
    assert not Department.objects.filter(code="pain").exists()


@pytest.mark.parametrize("role,shown", [("marketing", True), ("admin", True), ("compliance", True),
                                        ("medical_reviewer", False)])
def test_the_hospitals_menu_shows_what_each_role_may_open(client, role_user, role, shown):
    client.force_login(role_user(role))
    page = client.get("/admin/").content.decode()
    assert ("/admin/hospitals/" in page) == shown
    assert ("/admin/hospital_imports/" in page) == (role in ("marketing", "admin"))
    assert ("/admin/hospital_proposals/" in page) == (role in ("marketing", "admin"))
