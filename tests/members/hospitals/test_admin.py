"""Wagtail admin for hospitals and departments: role matrix, filters, search, duplicates, bad input."""

import pytest
from django.core.management import call_command

from engage.audit.models import AuditEntry
from members.accounts import demo as demo_data
from members.accounts.models import User
from members.hospitals.demo import seed_demo_territories
from members.hospitals.models import Department, Hospital, Territory
from members.hospitals.selectors import doctors_visible_to_rep
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


URL = "/admin/territories/"


@pytest.mark.parametrize("role,can_view,can_edit", MATRIX)
def test_territory_admin_role_matrix(client, role_user, role, can_view, can_edit):
    rep = role_user("rep")
    hospital = HospitalFactory()
    if role:
        client.force_login(role_user(role))
    assert (client.get(URL).status_code == 200) == can_view
    assert (client.get(f"{URL}new/").status_code == 200) == can_edit
    client.post(f"{URL}new/", {"name": "华东", "code": "east", "reps": [rep.pk], "hospitals": [hospital.pk]})
    assert Territory.objects.filter(code="east").exists() == can_edit


def test_reps_must_hold_the_rep_role_and_hospitals_must_be_active(client, role_user):
    client.force_login(role_user("marketing"))
    rep, doctor = role_user("rep"), role_user("doctor")
    active, proposed = HospitalFactory(), HospitalFactory(status=Hospital.Status.PROPOSED)
    for data in ({"reps": [doctor.pk]}, {"hospitals": [proposed.pk]}, {"reps": ["abc"]}, {"hospitals": ["999999"]},
                 {"code": "not a slug"}, {"name": ""}):
        payload = {"name": "华东", "code": "east", "reps": [rep.pk], "hospitals": [active.pk], **data}
        assert client.post(f"{URL}new/", payload).status_code == 200
        assert not Territory.objects.exists()
    page = client.get(f"{URL}new/").content.decode()
    assert str(rep) in page and str(doctor) not in page
    assert client.post(f"{URL}new/", {"name": "华东", "code": "east", "reps": [rep.pk],
                                      "hospitals": [active.pk]}).status_code == 302
    territory = Territory.objects.get(code="east")
    assert list(territory.reps.all()) == [rep] and list(territory.hospitals.all()) == [active]


def test_demo_territories_are_idempotent(settings):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    assert Territory.objects.filter(code__startswith="demo-territory-").count() == 10
    first = {t.code: (set(t.reps.values_list("username", flat=True)), set(t.hospitals.values_list("pk", flat=True)))
             for t in Territory.objects.all()}
    assert all(len(reps) == 1 and len(hospitals) == 2 for reps, hospitals in first.values())
    covered = set().union(*(hospitals for _reps, hospitals in first.values()))
    assert len(covered) == len(demo_data.HOSPITALS) == 20
    assert not Hospital.objects.filter(pinyin_initials="").exists()  # demo hospitals are searchable by pinyin
    again = seed_demo_territories()
    assert again == {"territories": 0, "territory reps": 0, "territory hospitals": 0, "hospital pinyin": 0}
    call_command("seed_demo", verbosity=0)
    assert Territory.objects.count() == 10
    rep = User.objects.get(username="demo-rep-01")
    hospitals = first["demo-territory-01"][1]
    assert all(p.hospital_id in hospitals for p in doctors_visible_to_rep(rep))


def test_territory_changes_are_audited_with_before_and_after(client, role_user):
    from engage.audit.models import AuditEntry

    marketing, rep, rep2 = role_user("marketing"), role_user("rep"), role_user("rep")
    hospital = HospitalFactory()
    client.force_login(marketing)
    client.post(f"{URL}new/", {"name": "华东", "code": "east", "reps": [rep.pk], "hospitals": [hospital.pk]})
    territory = Territory.objects.get(code="east")
    assert AuditEntry.objects.get(action="territory.create").after["reps"] == [rep.pk]
    response = client.post(f"{URL}edit/{territory.pk}/", {"name": "华东", "code": "east", "reps": [rep2.pk],
                                                          "hospitals": [hospital.pk]})
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="territory.update")
    assert (entry.before["reps"], entry.after["reps"]) == ([rep.pk], [rep2.pk])
    assert client.post(f"{URL}new/", {"name": "重复", "code": "east"}).status_code == 200
    assert Territory.objects.count() == 1


def test_territory_service_refuses_non_reps_and_inactive_hospitals(role_user):
    from engage.core.errors import DomainError
    from members.hospitals.services import territory_save

    marketing = role_user("marketing")
    for reps, hospitals, code in (
        ([role_user("doctor")], [HospitalFactory()], "territory_rep_not_rep"),
        ([role_user("rep")], [HospitalFactory(status=Hospital.Status.PROPOSED)], "territory_hospital_inactive"),
    ):
        with pytest.raises(DomainError) as caught:
            territory_save(actor=marketing, territory=Territory(code="t", name="T"), reps=reps, hospitals=hospitals)
        assert caught.value.code == code
    with pytest.raises(DomainError) as caught:
        territory_save(actor=role_user("compliance"), territory=Territory(code="t", name="T"), reps=[], hospitals=[])
    assert caught.value.code == "forbidden"
    assert not Territory.objects.exists()
