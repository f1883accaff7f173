"""The rep's page of doctors: only their territories' verified doctors, and only what a rep may see."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from members.consents.models import Consent, ConsentKind, PolicyVersion
from members.consents.selectors import consent_active
from members.engagement.models import EngagementEvent
from members.hospitals.models import Territory, TherapyArea
from members.hospitals.selectors import doctors_visible_to_rep
from members.profiles.models import DoctorProfile
from members.segments.models import DoctorSegment
from tests.factories import DepartmentFactory, DoctorProfileFactory, HospitalFactory

pytestmark = pytest.mark.django_db
URL = "/members/rep/doctors/"


def verified(**kwargs):
    return DoctorProfileFactory(status=DoctorProfile.Status.VERIFIED, **kwargs)


def consent(user, kind):
    policy = PolicyVersion.objects.filter(kind=kind).first()
    return Consent.objects.create(user=user, kind=kind, policy=policy, method=Consent.Method.WEB_FORM)


@pytest.fixture
def world(role_user):
    rep_a, rep_b = role_user("rep"), role_user("rep")
    h1 = HospitalFactory(name="甲医院")
    h2 = HospitalFactory(name="乙医院")
    h3 = HospitalFactory(name="丙医院")  # in nobody's territory
    ta = Territory.objects.create(code="a", name="A")
    ta.reps.add(rep_a)
    ta.hospitals.add(h1)
    tb = Territory.objects.create(code="b", name="B")
    tb.reps.add(rep_b)
    tb.hospitals.add(h2)
    cardio = DepartmentFactory(code="cardiology", name="心血管内科", name_en="Cardiology")
    return {
        "rep_a": rep_a, "rep_b": rep_b, "h1": h1, "h2": h2, "h3": h3, "ta": ta, "tb": tb,
        "d1": verified(hospital=h1, real_name="王一"),
        "d1b": verified(hospital=h1, real_name="王二", department=cardio),
        "pending": DoctorProfileFactory(hospital=h1, real_name="待审"),
        "d2": verified(hospital=h2, real_name="李二"),
        "d3": verified(hospital=h3, real_name="赵三"),
    }


def names(rep, **filters):
    return sorted(p.real_name for p in doctors_visible_to_rep(rep, **filters))


def test_a_rep_sees_only_verified_doctors_of_their_territories(world):
    assert names(world["rep_a"]) == ["王一", "王二"]
    assert names(world["rep_b"]) == ["李二"]


def test_a_shared_hospital_appears_once_and_new_territories_count(world, role_user):
    extra = Territory.objects.create(code="a2", name="A2")
    extra.reps.add(world["rep_a"])
    extra.hospitals.add(world["h1"], world["h2"])
    assert names(world["rep_a"]) == ["李二", "王一", "王二"]
    assert names(role_user("rep")) == []
    assert names(None) == []


def test_filters(world):
    rep = world["rep_a"]
    assert names(rep, q="一") == ["王一"]
    assert names(rep, hospital_id=world["h2"].pk) == []  # another territory's hospital shows nothing
    assert names(rep, department_id=world["d1b"].department_id) == ["王二"]


def test_contact_details_only_with_an_active_marketing_consent(world, client):
    doctor = world["d1"].user
    client.force_login(world["rep_a"])
    page = client.get(URL).content.decode()
    assert doctor.mobile not in page and doctor.email not in page
    sms = consent(doctor, ConsentKind.MARKETING_SMS)
    assert consent_active(doctor, ConsentKind.MARKETING_SMS)
    page = client.get(URL).content.decode()
    assert doctor.mobile in page and doctor.email not in page
    consent(doctor, ConsentKind.MARKETING_EMAIL)
    assert doctor.email in client.get(URL).content.decode()
    sms.withdrawn_at = timezone.now()
    sms.save()
    assert not consent_active(doctor, ConsentKind.MARKETING_SMS)
    page = client.get(URL).content.decode()
    assert doctor.mobile not in page and doctor.email in page
    # a new email policy version in force: the old agreement no longer counts, as for consent_active
    PolicyVersion.objects.create(kind=ConsentKind.MARKETING_EMAIL, version="99", title="t", purpose="p", text="t",
                                 effective_at=timezone.now())
    assert not consent_active(doctor, ConsentKind.MARKETING_EMAIL)
    assert doctor.email not in client.get(URL).content.decode()
    # a WeChat consent gives no phone number or address
    consent(world["d1b"].user, ConsentKind.MARKETING_WECHAT)
    assert world["d1b"].user.mobile not in client.get(URL).content.decode()


def test_segments_and_engagement_summary_but_no_points(world, client):
    doctor = world["d1"].user
    DoctorProfile.objects.filter(pk=world["d1"].pk).update(licence_number="110101199001011234")
    world["d1"].refresh_from_db()
    area = TherapyArea.objects.first()
    DoctorSegment.objects.create(doctor=doctor, therapy_area=area, potential="A", support="2",
                                 computed_at=timezone.now())
    now = timezone.now()
    for n, (kind, days) in enumerate([("content_read", 1), ("content_read", 100), ("content_read", 400),
                                      ("meeting_attended", 5), ("points_earned", 1), ("points_redeemed", 1)]):
        EngagementEvent.objects.create(doctor=doctor, kind=kind, occurred_at=now - datetime.timedelta(days=days),
                                       source_key=f"t{n}", object_repr="秘密处方数据")
    row = next(p for p in doctors_visible_to_rep(world["rep_a"]) if p.user_id == doctor.pk)
    assert row.engagement_content_read == 2  # the one older than 12 months is left out
    assert row.engagement_meeting_attended == 1
    assert [s.cell for s in row.user.segment_list] == ["A2"]
    assert not hasattr(row, "engagement_points_earned")
    client.force_login(world["rep_a"])
    page = client.get(URL).content.decode()
    assert f"{area.name} A2" in page
    assert "秘密处方数据" not in page
    assert world["d1"].licence_number not in page


@pytest.mark.parametrize("role", ["doctor", "marketing", "medical_reviewer", "compliance", "admin"])
def test_other_roles_get_403(client, role_user, world, role):
    client.force_login(role_user(role))
    assert client.get(URL).status_code == 403


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "login" in response.url


def test_rep_a_and_rep_b_pages(client, world):
    client.force_login(world["rep_a"])
    page = client.get(URL).content.decode()
    assert "王一" in page and "王二" in page
    assert "李二" not in page and "赵三" not in page and "待审" not in page
    client.force_login(world["rep_b"])
    page = client.get(URL).content.decode()
    assert "李二" in page and "王一" not in page


@pytest.mark.parametrize("params", [
    {"hospital": "abc"}, {"hospital": "999999"}, {"department": "x"}, {"q": "x" * 51}, {"page": "abc"},
    {"page": "99999"}, {"q": "\x00"}, {"q": "<script>alert(1)</script>"}, {"page": "-1"},
])
def test_bad_filters_never_fail_or_leak(client, world, params):
    client.force_login(world["rep_a"])
    response = client.get(URL, params)
    assert response.status_code == 200
    page = response.content.decode()
    assert "李二" not in page and "赵三" not in page
    assert "<script>alert(1)</script>" not in page


def test_forged_hospital_of_another_territory_is_an_invalid_choice(client, world):
    client.force_login(world["rep_a"])
    response = client.get(URL, {"hospital": world["h2"].pk})
    assert response.status_code == 200
    assert "李二" not in response.content.decode()
    assert response.context["form"].errors["hospital"]


def test_valid_filters_through_the_page(client, world):
    client.force_login(world["rep_a"])
    page = client.get(URL, {"q": "王二", "hospital": world["h1"].pk, "department": ""}).content.decode()
    assert "王二" in page and "王一" not in page


def test_pagination_and_constant_query_count(client, world):
    rep = world["rep_a"]
    client.force_login(rep)
    client.get(URL)
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    area = TherapyArea.objects.first()
    for n in range(30):
        profile = verified(hospital=world["h1"], real_name=f"医生{n:02d}")
        DoctorSegment.objects.create(doctor=profile.user, therapy_area=area, potential="B", support="3",
                                     computed_at=timezone.now())
    with CaptureQueriesContext(connection) as many:
        response = client.get(URL)
    assert len(response.context["page"].object_list) == 20
    assert len(many) == len(few)
    second = client.get(URL, {"page": 2})
    assert len(second.context["page"].object_list) == 12


def test_no_territory_message(client, role_user):
    client.force_login(role_user("rep"))
    assert 'data-testid="rep-no-territory"' in client.get(URL).content.decode()


def test_the_member_page_links_reps_to_their_doctors(client, role_user):
    client.force_login(role_user("rep"))
    assert 'data-testid="link-rep-doctors"' in client.get("/members/me/").content.decode()
    client.force_login(role_user("doctor"))
    assert 'data-testid="link-rep-doctors"' not in client.get("/members/me/").content.decode()
