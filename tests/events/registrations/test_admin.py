"""Wagtail admin: registrations of a meeting (filter, approve, reject, staff invitation, export) and 名额分配."""

import pytest

from events.registrations.models import Quota, Registration
from tests.events.factories import make_doctor, make_event, make_quota, make_registration, make_rep, make_staff

pytestmark = pytest.mark.django_db
S = Registration.Status


def refused(response) -> None:
    """Wagtail answers a PermissionDenied in its admin with a redirect to the dashboard (or the login)."""
    assert response.status_code == 403 or (response.status_code == 302 and "/admin/" in response["Location"])


def test_roles_reach_the_registration_admin(client):
    event = make_event()
    for role, status in (("marketing", 200), ("compliance", 200), ("admin", 200)):
        client.force_login(make_staff(role))
        assert client.get(f"/admin/events/{event.pk}/registrations/").status_code == status
        assert client.get(f"/admin/events/{event.pk}/quotas/").status_code == status
        assert client.get("/admin/events/registrations/").status_code == status
    for user in (make_rep(), make_doctor()):
        client.force_login(user)
        refused(client.get(f"/admin/events/{event.pk}/registrations/"))


def test_list_filters_by_status_and_approves_and_rejects(client):
    event = make_event(capacity=3, approval_required=True)
    pending = make_registration(event, make_doctor(), status="pending_approval")
    other = make_registration(event, make_doctor(), status="pending_approval")
    confirmed = make_registration(event, make_doctor())
    client.force_login(make_staff("marketing"))
    html = client.get(f"/admin/events/{event.pk}/registrations/?status=pending_approval").content.decode()
    assert html.count('data-testid="registration-row"') == 2 and f'data-registration="{confirmed.pk}"' not in html
    client.post(f"/admin/events/registrations/{pending.pk}/decide/", {"decision": "approve"})
    client.post(f"/admin/events/registrations/{other.pk}/decide/", {"decision": "reject", "reason": "不符合"})
    pending.refresh_from_db()
    other.refresh_from_db()
    assert pending.status == S.CONFIRMED and pending.ticket
    assert (other.status, other.reason) == (S.REJECTED, "不符合")
    assert Quota.objects.get(event=event, kind="open").taken == 2


def test_read_only_staff_cannot_decide(client):
    event = make_event(approval_required=True)
    pending = make_registration(event, make_doctor(), status="pending_approval")
    client.force_login(make_staff("compliance"))
    refused(client.post(f"/admin/events/registrations/{pending.pk}/decide/", {"decision": "approve"}))
    assert Registration.objects.get(pk=pending.pk).status == S.PENDING


def test_staff_invite_by_mobile_number(client):
    event = make_event()
    doctor = make_doctor()
    client.force_login(make_staff("marketing"))
    client.post(f"/admin/events/{event.pk}/registrations/invite/", {"doctor": doctor.mobile[3:]})
    registration = Registration.objects.get(doctor=doctor)
    assert (registration.status, registration.source) == (S.CONFIRMED, "staff")
    response = client.post(f"/admin/events/{event.pk}/registrations/invite/", {"doctor": "nobody"}, follow=True)
    assert Registration.objects.count() == 1 and response.status_code == 200


def test_export_csv_guards_against_formulas(client):
    from members.profiles.models import DoctorProfile

    event = make_event()
    doctor = make_doctor()
    DoctorProfile.objects.filter(user=doctor).update(real_name="=HYPERLINK(\"x\")")
    make_registration(event, doctor)
    client.force_login(make_staff("compliance"))
    response = client.get(f"/admin/events/{event.pk}/registrations/export.csv")
    text = response.content.decode("utf-8")
    assert response["Content-Type"].startswith("text/csv") and text.startswith("\ufeff")
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text


def test_quota_allocation_screen(client):
    event = make_event(capacity=50)
    rep = make_rep()
    client.force_login(make_staff("marketing"))
    client.post(f"/admin/events/{event.pk}/quotas/", {"seats": 10, "rep": rep.pk})
    client.post(f"/admin/events/{event.pk}/quotas/", {"seats": 5, "province": "江苏省"})
    response = client.post(f"/admin/events/{event.pk}/quotas/", {"seats": 999, "province": "浙江省"})
    assert response.status_code == 200 and "35" in response.content.decode()  # the free seats are named
    both = client.post(f"/admin/events/{event.pk}/quotas/", {"seats": 1, "province": "浙江省", "rep": rep.pk})
    assert both.status_code == 200
    assert Quota.objects.get(event=event, kind="open").seats == 35
    rep_quota = Quota.objects.get(event=event, rep=rep)
    html = client.get(f"/admin/events/{event.pk}/quotas/").content.decode()
    assert f"/events/invite/{rep_quota.invite_code}/" in html
    client.post(f"/admin/events/quotas/{rep_quota.pk}/", {"action": "resize", "seats": 4})
    assert Quota.objects.get(event=event, kind="open").seats == 41
    region = Quota.objects.get(event=event, kind="region")
    client.post(f"/admin/events/quotas/{region.pk}/", {"action": "delete"})
    assert not Quota.objects.filter(pk=region.pk).exists()
    assert Quota.objects.get(event=event, kind="open").seats == 46


def test_read_only_staff_cannot_allocate(client):
    event = make_event(capacity=50)
    quota = make_quota(event, seats=5, province="江苏省")
    client.force_login(make_staff("medical_reviewer"))
    refused(client.post(f"/admin/events/{event.pk}/quotas/", {"seats": 5, "province": "浙江省"}))
    refused(client.post(f"/admin/events/quotas/{quota.pk}/", {"action": "delete"}))
    assert Quota.objects.filter(event=event).count() == 2
