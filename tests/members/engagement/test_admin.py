"""The doctor 360° pages of the Wagtail admin: roles, search, the page's sections and the timeline filters."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from members.consents.models import Consent, ConsentKind, PolicyVersion
from members.engagement.models import EngagementKind
from members.hospitals.models import TherapyArea
from members.points.models import PointsAccount, PointsTransaction
from members.profiles.models import DoctorProfile, VerificationDecision
from members.segments.models import KolTier
from members.segments.services import segments_recompute
from tests.factories import UserFactory
from tests.members.segments.test_admin import ROLES, VIEWERS, client_as, expect
from tests.members.segments.test_services import event, indicators, make_doctor

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def diabetes(db):
    return TherapyArea.objects.get(code="diabetes")


@pytest.fixture
def rich_doctor(diabetes, role_user):
    doctor = make_doctor(city="北京市", specialties=[diabetes], real_name="李时珍", licence_number="110101199001011234",
                         user=UserFactory(privacy_consent=False))  # its consents are written below
    profile = doctor.doctor_profile
    reviewer = role_user("compliance")
    VerificationDecision.objects.create(profile=profile, from_status="pending", to_status="needs_info",
                                        reason="证书照片不清晰", actor=reviewer)
    VerificationDecision.objects.create(profile=profile, from_status="needs_info", to_status="verified",
                                        actor=reviewer)
    privacy = PolicyVersion.objects.get(kind=ConsentKind.PRIVACY, version="1")
    sms = PolicyVersion.objects.get(kind=ConsentKind.MARKETING_SMS, version="1")
    Consent.objects.create(user=doctor, kind=ConsentKind.PRIVACY, policy=privacy, method="web_form")
    Consent.objects.create(user=doctor, kind=ConsentKind.MARKETING_SMS, policy=sms, method="web_form",
                           withdrawn_at=datetime(2026, 3, 1, tzinfo=SHANGHAI))
    account = PointsAccount.objects.create(user=doctor, balance=150)
    PointsTransaction.objects.create(account=account, amount=100, kind="earn", idempotency_key="t1",
                                     balance_after=100, source_repr="完成医生认证")
    PointsTransaction.objects.create(account=account, amount=50, kind="earn", idempotency_key="t2",
                                     balance_after=150, source_repr="参加学术会议")
    indicators(doctor, diabetes, beds=45, kol=KolTier.NATIONAL)
    segments_recompute()
    indicators(doctor, diabetes, beds=25, kol=KolTier.NATIONAL)
    segments_recompute()
    return doctor


@pytest.mark.parametrize("role", ["anonymous", *ROLES])
def test_role_matrix(client, role_user, rich_doctor, role):
    c = client_as(client, role_user, role)
    expect(c.get(reverse("doctor360_list")), role, VIEWERS)
    expect(c.get(reverse("doctor360_list") + "?q=李"), role, VIEWERS)
    expect(c.get(reverse("doctor360_detail", args=[rich_doctor.pk])), role, VIEWERS)
    expect(c.get(reverse("doctor360_detail", args=[rich_doctor.pk]) + "?kind=joined"), role, VIEWERS)


def test_search_by_name_licence_hospital_and_mobile(client, role_user, rich_doctor):
    other = make_doctor(real_name="王五")
    client.force_login(role_user("marketing"))
    url = reverse("doctor360_list")

    def found(q):
        return [p.user_id for p in client.get(url, {"q": q}).context["page_obj"]]

    assert found("李时") == [rich_doctor.pk]
    assert found("11010119900101") == [rich_doctor.pk]
    assert found(rich_doctor.doctor_profile.hospital.name) == [rich_doctor.pk]
    assert found(rich_doctor.mobile[-8:]) == [rich_doctor.pk]
    assert set(found("")) >= {rich_doctor.pk, other.pk}
    assert found("<script>") == []
    response = client.get(url, {"q": "x" * 5000})  # oversized: a form error, not a crash
    assert response.status_code == 200 and response.context["form"].errors


def test_detail_shows_every_section(client, role_user, rich_doctor, diabetes):
    client.force_login(role_user("compliance"))
    response = client.get(reverse("doctor360_detail", args=[rich_doctor.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert "李时珍" in html and "110101199001011234" in html
    assert "证书照片不清晰" in html  # verification history
    assert "v1" in html and "Withdrawn" in html and "Active" in html  # consents
    assert ">A3</a>" not in html  # the doctor moved A3 → B3, the page shows the current cell
    assert "<strong>B3</strong>" in html
    assert "A3 → B3" in html and "— → A3" in html  # history
    assert "<strong>150</strong>" in html and "参加学术会议" in html  # points
    assert response.context["v"].points_account.balance == 150
    # Marketing and admin may edit indicators from here; compliance may not.
    assert reverse("segments_indicators", args=["diabetes", rich_doctor.pk]) not in html
    client.force_login(role_user("marketing"))
    html = client.get(reverse("doctor360_detail", args=[rich_doctor.pk])).content.decode()
    assert reverse("segments_indicators", args=["diabetes", rich_doctor.pk]) in html


def test_unknown_or_non_doctor_is_404(client, role_user):
    client.force_login(role_user("admin"))
    assert client.get(reverse("doctor360_detail", args=[999999])).status_code == 404
    rep = role_user("rep")
    assert client.get(reverse("doctor360_detail", args=[rep.pk])).status_code == 404


def test_timeline_filters_by_kind_and_dates_and_paginates(client, role_user, diabetes):
    doctor = make_doctor()
    base = datetime(2026, 5, 10, 9, 0, tzinfo=SHANGHAI)
    for i in range(30):
        event(doctor, EngagementKind.CONTENT_READ, base - timedelta(days=i), diabetes)
    event(doctor, EngagementKind.MEETING_ATTENDED, base - timedelta(days=3))
    event(doctor, EngagementKind.JOINED, datetime(2026, 1, 1, 0, 30, tzinfo=SHANGHAI))  # local midnight edge
    client.force_login(role_user("marketing"))
    url = reverse("doctor360_detail", args=[doctor.pk])

    def events(**params):
        response = client.get(url, params)
        assert response.status_code == 200
        return response.context["page_obj"]

    page = events()
    assert page.paginator.count == 32 and len(page) == 25
    assert len(events(p=2)) == 7
    assert [e.kind for e in events(kind="meeting_attended")] == ["meeting_attended"]
    assert events(kind=["meeting_attended", "joined"]).paginator.count == 2
    assert events(date_from="2026-05-08", date_to="2026-05-10").paginator.count == 3  # whole days, both ends
    assert events(date_from="2026-05-07", date_to="2026-05-07", kind="meeting_attended").paginator.count == 1
    # 00:30 in Shanghai on 1 January is still 31 December in UTC: days are local days.
    assert [e.kind for e in events(date_from="2026-01-01", date_to="2026-01-01")] == ["joined"]


@pytest.mark.parametrize("params, field", [
    ({"kind": "prescription_written"}, "kind"),
    ({"date_from": "yesterday"}, "date_from"),
    ({"date_from": "2026-13-45"}, "date_from"),
    ({"date_from": "2026-05-10", "date_to": "2026-05-01"}, "date_to"),
])
def test_bad_timeline_filters_show_an_error_and_the_unfiltered_timeline(client, role_user, params, field):
    doctor = make_doctor()
    event(doctor, EngagementKind.CONTENT_READ, datetime(2026, 5, 1, tzinfo=SHANGHAI))
    client.force_login(role_user("admin"))
    response = client.get(reverse("doctor360_detail", args=[doctor.pk]), params)
    assert response.status_code == 200
    assert field in response.context["filter_form"].errors
    assert response.context["page_obj"].paginator.count == 1


def test_detail_query_count_is_flat(client, role_user, diabetes):
    doctor = make_doctor(specialties=[diabetes])
    indicators(doctor, diabetes, beds=50)
    client.force_login(role_user("admin"))
    url = reverse("doctor360_detail", args=[doctor.pk])

    def add(n):
        for i in range(n):
            event(doctor, EngagementKind.CONTENT_READ, datetime(2026, 5, 1, tzinfo=SHANGHAI) - timedelta(hours=i),
                  diabetes)
        segments_recompute()

    add(2)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    add(60)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


def test_rejected_doctor_is_still_visible_to_staff(client, role_user):
    doctor = make_doctor(status=DoctorProfile.Status.REJECTED)
    client.force_login(role_user("compliance"))
    assert client.get(reverse("doctor360_detail", args=[doctor.pk])).status_code == 200
