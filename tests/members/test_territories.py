"""Territories: the admin (reps limited to the rep role), and the demo territories."""

import pytest
from django.core.management import call_command

from members import demo_data
from members.demo_territories import seed_demo_territories
from members.models import Hospital, Territory, User
from members.selectors import doctors_visible_to_rep
from tests.factories import HospitalFactory

pytestmark = pytest.mark.django_db
URL = "/admin/territories/"
MATRIX = [("marketing", True, True), ("admin", True, True), ("compliance", True, False),
          ("medical_reviewer", False, False), ("doctor", False, False), ("rep", False, False), (None, False, False)]


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
    from engage.errors import DomainError
    from members.services import territory_save

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
