import pytest
from django.db import connection, transaction
from django.db.utils import InternalError, ProgrammingError

from engage.audit.labels import action_label
from engage.audit.models import AppendOnlyError, AuditEntry
from engage.audit.services import audit_log

pytestmark = pytest.mark.django_db


def test_audit_log_records_actor_object_and_request_context(client, doctor, settings):
    settings.ENGAGE_TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]  # the load balancer's network
    client.force_login(doctor)
    response = client.patch(
        "/api/v1/members/me", data={"display_name": "周医生"}, content_type="application/json",
        HTTP_USER_AGENT="MicroMessenger/8.0", HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.1",
    )
    # Session writes need CSRF; the test client skips the check unless asked, as Django's does.
    assert response.status_code == 200
    entry = AuditEntry.objects.get(action="member.update")
    assert entry.actor_id == doctor.pk
    assert entry.object_type == "members.user"
    assert entry.object_id == str(doctor.pk)
    assert entry.before["display_name"] != "周医生"
    assert entry.after["display_name"] == "周医生"
    assert entry.ip_address == "203.0.113.9"
    assert entry.user_agent == "MicroMessenger/8.0"


def test_system_actor_and_bad_ip_are_stored_safely():
    entry = audit_log(actor=None, action="task.run", ip_address="not-an-ip", reason="nightly")
    assert entry.actor_label == "system"
    assert entry.ip_address is None


def test_entries_cannot_be_changed_or_deleted_through_the_orm():
    entry = audit_log(actor=None, action="x")
    entry.action = "y"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="y")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == "x"


def test_database_refuses_update_and_delete_even_in_raw_sql():
    entry = audit_log(actor=None, action="x")
    for sql in ("UPDATE audit_auditentry SET action = 'y' WHERE id = %s", "DELETE FROM audit_auditentry WHERE id = %s"):
        with pytest.raises((InternalError, ProgrammingError)), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).action == "x"


def test_audit_written_with_the_write_or_not_at_all(doctor):
    from members.accounts.services import member_update

    with pytest.raises(RuntimeError), transaction.atomic():
        member_update(user=doctor, display_name="回滚")
        raise RuntimeError("the caller fails after the service")
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(("role", "status"), [("compliance", 200), ("admin", 200), ("marketing", 403),
                                              ("medical_reviewer", 403)])
def test_audit_list_in_admin_by_role(client, role_user, role, status):
    audit_log(actor=None, action="demo.action", reason="可见")
    client.force_login(role_user(role))
    response = client.get("/admin/audit/")
    if status == 200:
        assert response.status_code == 200
        assert "demo.action" in response.content.decode()
    else:
        assert response.status_code in (302, 403)


def test_doctor_cannot_reach_the_audit_list(client, doctor):
    client.force_login(doctor)
    response = client.get("/admin/audit/")
    assert response.status_code == 302
    assert "/admin/login/" in response.url


def test_audit_list_filters_and_exports_to_excel(client, role_user):
    audit_log(actor=None, action="points.award")
    audit_log(actor=None, action="checkin.perform")
    client.force_login(role_user("compliance"))
    filtered = client.get("/admin/audit/", {"action": "points.award"}).content.decode()
    assert "points.award" in filtered
    assert "checkin.perform" not in filtered
    export = client.get("/admin/audit/", {"export": "xlsx"})
    assert export.status_code == 200
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")
    from io import BytesIO

    import openpyxl

    sheet = openpyxl.load_workbook(BytesIO(b"".join(export.streaming_content) if export.streaming else
                                           export.content)).active
    actions = {row[3] for row in sheet.iter_rows(min_row=2, values_only=True)}
    # a known action is exported by its label, an unknown code as it is
    assert {action_label("points.award"), "checkin.perform"} <= actions and "points.award" not in actions


def test_nobody_can_edit_or_delete_entries_in_admin(client, role_user):
    entry = audit_log(actor=None, action="keep.me")
    client.force_login(role_user("admin"))
    for url in (f"/admin/audit/edit/{entry.pk}/", f"/admin/audit/delete/{entry.pk}/", "/admin/audit/new/"):
        response = client.post(url, {"action": "changed"})
        assert response.status_code in (302, 403), url
    assert AuditEntry.objects.get(pk=entry.pk).action == "keep.me"
    assert AuditEntry.objects.count() == 1
    inspect = client.get(f"/admin/audit/inspect/{entry.pk}/")
    assert inspect.status_code == 200
