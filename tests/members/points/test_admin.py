"""Wagtail admin for points: catalogue with compliance approval, transfer-of-value export, admin-only adjustments."""

import io
from decimal import Decimal

import openpyxl
import pytest

from engage.audit.models import AuditEntry
from members.points import services
from members.points.models import PointsRule, PointsTransaction, Reward
from members.points.services import account_for
from tests.factories import make_doctor, user_with_role
from tests.members.factories import approved_reward, give_points

pytestmark = pytest.mark.django_db
ROLES = ["doctor", "rep", "marketing", "medical_reviewer", "compliance", "admin"]


def denied(response) -> bool:
    """Wagtail answers a refused admin view by redirecting to the dashboard (staff) or to sign-in (others)."""
    return response.status_code == 403 or (response.status_code == 302 and (
        response["Location"] == "/admin/" or "login" in response["Location"]))


def login(client, role):
    user = make_doctor() if role == "doctor" else user_with_role(role)
    client.force_login(user)
    return user


def draft(name="Cochrane 图书馆 一年"):
    return services.reward_create(actor=user_with_role("marketing"), name=name, kind="literature",
                                  value_rmb=Decimal("120"), points_cost=300, stock=4)


def redeemed(n=1):
    doctor = make_doctor(real_name="王芳", licence_number="110101202600001")
    give_points(doctor, 10_000)
    reward = approved_reward(stock=50, points_cost=10, value_rmb="20.00", name="指南全文")
    for _ in range(n):
        services.reward_redeem(member=doctor, reward_id=reward.pk)
    return doctor


@pytest.mark.parametrize(("role", "index", "add"), [
    ("doctor", False, False), ("rep", False, False), ("medical_reviewer", False, False), ("marketing", True, True),
    ("compliance", True, False), ("admin", True, True),
])
def test_reward_catalogue_access(client, role, index, add):
    login(client, role)
    for url, allowed in (("/admin/rewards/", index), ("/admin/rewards/new/", add)):
        response = client.get(url)
        assert response.status_code == 200 if allowed else denied(response), url


def test_marketing_creates_a_draft_through_the_service(client):
    login(client, "marketing")
    response = client.post("/admin/rewards/new/", {"name": "ESC 年会注册", "kind": "conference",
                                                   "description": "", "value_rmb": "800.00", "points_cost": "2000",
                                                   "stock": "5"})
    assert response.status_code == 302, response.content[:2000]
    reward = Reward.objects.get()
    assert reward.status == "draft"
    assert AuditEntry.objects.filter(action="reward.create", object_id=str(reward.pk)).exists()


@pytest.mark.parametrize("data", [
    {"kind": "gift_card"}, {"value_rmb": "-5"}, {"points_cost": "0"}, {"stock": "-1"}, {"name": ""},
    {"value_rmb": "abc"}, {"points_cost": "99999999999999999999"},
])
def test_bad_reward_forms_create_nothing(client, data):
    login(client, "marketing")
    form = {"name": "x", "kind": "course", "description": "", "value_rmb": "1", "points_cost": "1", "stock": "1"}
    response = client.post("/admin/rewards/new/", form | data)
    assert response.status_code == 200
    assert not Reward.objects.exists()


def test_editing_terms_sends_the_reward_back_to_compliance(client):
    reward = approved_reward()
    login(client, "marketing")
    response = client.post(f"/admin/rewards/edit/{reward.pk}/", {
        "name": reward.name, "kind": reward.kind, "description": "new text", "value_rmb": "50.00",
        "points_cost": str(reward.points_cost), "stock": "9"})
    assert response.status_code == 302
    reward.refresh_from_db()
    assert (reward.status, reward.description, reward.stock) == ("draft", "new text", 9)


@pytest.mark.parametrize("role", ROLES)
def test_only_compliance_approves_in_the_admin(client, role):
    reward = draft()
    login(client, role)
    response = client.post(f"/admin/rewards/approve/{reward.pk}/", {"reason": "checked"})
    reward.refresh_from_db()
    if role == "compliance":
        assert response.status_code == 302 and reward.status == "approved"
        entry = AuditEntry.objects.get(action="reward.approve")
        assert entry.reason == "checked"
    else:
        assert denied(response) and reward.status == "draft"


def test_approve_page_and_buttons(client):
    reward = draft()
    login(client, "compliance")
    assert client.get(f"/admin/rewards/approve/{reward.pk}/").status_code == 200
    assert f"/admin/rewards/approve/{reward.pk}/".encode() in client.get("/admin/rewards/").content
    assert client.get("/admin/rewards/approve/424242/").status_code == 404
    client.post(f"/admin/rewards/approve/{reward.pk}/", {"reason": ""})
    again = client.post(f"/admin/rewards/approve/{reward.pk}/", {"reason": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 200 and b"help-critical" in again.content
    assert AuditEntry.objects.filter(action="reward.approve").count() == 1


@pytest.mark.parametrize("role", ROLES)
def test_retire(client, role):
    reward = approved_reward()
    login(client, role)
    client.post(f"/admin/rewards/retire/{reward.pk}/", {"reason": "expired"})
    reward.refresh_from_db()
    assert (reward.status == "retired") == (role in {"marketing", "compliance", "admin"})


@pytest.mark.parametrize("role", ROLES)
def test_transfer_of_value_register_access(client, role):
    redeemed()
    login(client, role)
    for url in ("/admin/transfers_of_value/", "/admin/transfers_of_value/?export=xlsx",
                "/admin/points_ledger/", "/admin/points_accounts/"):
        response = client.get(url)
        if role in {"compliance", "admin"}:
            assert response.status_code == 200, url
        else:
            assert denied(response), url


def test_transfer_of_value_export_to_excel_with_filters(client):
    redeemed(3)
    other = make_doctor(real_name="赵强")
    give_points(other, 100)
    services.reward_redeem(member=other, reward_id=Reward.objects.get().pk)
    login(client, "compliance")
    response = client.get("/admin/transfers_of_value/?export=xlsx&doctor_name__icontains=王")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)
                                              if response.streaming else response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + 3
    flat = " ".join(str(cell) for cell in rows[1])
    assert "王芳" in flat and "110101202600001" in flat and "指南全文" in flat and "20" in flat
    html = client.get("/admin/transfers_of_value/?created_at__gte=2000-01-01&hospital_name__icontains=医院")
    assert html.status_code == 200 and "王芳" in html.content.decode()
    future = client.get("/admin/transfers_of_value/?created_at__gte=2999-01-01").content.decode()
    assert "王芳" not in future


@pytest.mark.parametrize("role", ["marketing", "medical_reviewer", "compliance", "doctor", "rep"])
def test_adjustment_is_admin_only(client, role):
    doctor = make_doctor()
    account = account_for(doctor)
    login(client, role)
    assert denied(client.get(f"/admin/points_accounts/adjust/{account.pk}/"))
    response = client.post(f"/admin/points_accounts/adjust/{account.pk}/",
                           {"amount": "100", "reason": "x", "idempotency_key": "k"})
    assert denied(response)
    assert not PointsTransaction.objects.exists()


def test_admin_adjusts_from_the_form_once_per_submission(client):
    doctor = make_doctor()
    account = account_for(doctor)
    admin = login(client, "admin")
    page = client.get(f"/admin/points_accounts/adjust/{account.pk}/")
    assert page.status_code == 200
    data = {"amount": "150", "reason": "会议签到补录", "idempotency_key": "form-abc"}
    assert client.post(f"/admin/points_accounts/adjust/{account.pk}/", data).status_code == 302
    assert client.post(f"/admin/points_accounts/adjust/{account.pk}/", data).status_code == 302  # double submit
    row = PointsTransaction.objects.get()
    assert (row.amount, row.reason, row.actor) == (150, "会议签到补录", admin)
    assert AuditEntry.objects.get(action="points.adjust").reason == "会议签到补录"
    assert client.get("/admin/points_accounts/").status_code == 200
    assert client.get(f"/admin/points_ledger/?account={account.pk}").status_code == 200


@pytest.mark.parametrize("data", [
    {"amount": "0", "reason": "x"}, {"amount": "", "reason": "x"}, {"amount": "abc", "reason": "x"},
    {"amount": "100001", "reason": "x"}, {"amount": "-100001", "reason": "x"},
    {"amount": "99999999999999999999999", "reason": "x"}, {"amount": "1.5", "reason": "x"},
    {"amount": "10", "reason": ""}, {"amount": "10", "reason": "   "}, {"amount": "10", "reason": "x" * 1001},
    {"amount": "-10", "reason": "below zero"},
])
def test_bad_adjustments_in_the_admin_change_nothing(client, data):
    account = account_for(make_doctor())
    login(client, "admin")
    response = client.post(f"/admin/points_accounts/adjust/{account.pk}/", data | {"idempotency_key": "k"})
    assert response.status_code == 200
    assert not PointsTransaction.objects.exists()


def test_adjusting_an_unknown_account(client):
    login(client, "admin")
    assert client.get("/admin/points_accounts/adjust/424242/").status_code == 404


def test_points_rules_are_configured_by_marketing_and_audited(client):
    rule = PointsRule.objects.get(code="read_article")
    login(client, "marketing")
    response = client.post(f"/admin/points_rules/edit/{rule.pk}/", {
        "code": "read_article", "name": rule.name, "points": "8", "daily_cap": "40", "yearly_cap": "",
        "active_from": "", "active_until": "", "enabled": "on"})
    assert response.status_code == 302, response.content[:3000]
    rule.refresh_from_db()
    assert (rule.points, rule.daily_cap, rule.yearly_cap) == (8, 40, None)
    entry = AuditEntry.objects.get(action="points_rule.save")
    assert entry.before["points"] == "5" and entry.after["points"] == "8"


@pytest.mark.parametrize(("role", "allowed"), [("compliance", True), ("medical_reviewer", False), ("admin", True),
                                               ("rep", False), ("doctor", False)])
def test_rules_are_visible_to_staff_with_permission(client, role, allowed):
    login(client, role)
    response = client.get("/admin/points_rules/")
    assert response.status_code == 200 if allowed else denied(response)
    if role == "compliance":
        assert denied(client.get("/admin/points_rules/new/"))


@pytest.mark.parametrize("role", ROLES)
def test_points_settings_are_compliance_and_admin_only(client, role):
    from members.points.models import PointsSettings

    settings = PointsSettings.load()
    login(client, role)
    index = client.get("/admin/points_settings/")
    response = client.post(f"/admin/points_settings/edit/{settings.pk}/",
                           {"yearly_value_cap_rmb": "2000.00", "expiry_years": "2"})
    settings.refresh_from_db()
    if role in {"compliance", "admin"}:
        assert index.status_code == 200 and response.status_code == 302
        assert (settings.yearly_value_cap_rmb, settings.expiry_years) == (Decimal("2000.00"), 2)
        entry = AuditEntry.objects.get(action="points_settings.update")
        assert entry.before["yearly_value_cap_rmb"] == "1000.00"
    else:
        assert denied(index) and denied(response)
        assert (settings.yearly_value_cap_rmb, settings.expiry_years) == (Decimal("1000.00"), 1)


@pytest.mark.parametrize("data", [{"yearly_value_cap_rmb": "-1", "expiry_years": "1"},
                                  {"yearly_value_cap_rmb": "2000000", "expiry_years": "1"},
                                  {"yearly_value_cap_rmb": "100", "expiry_years": "0"},
                                  {"yearly_value_cap_rmb": "100", "expiry_years": "11"},
                                  {"yearly_value_cap_rmb": "abc", "expiry_years": "1"}])
def test_bad_points_settings_change_nothing(client, data):
    from members.points.models import PointsSettings

    settings = PointsSettings.load()
    login(client, "compliance")
    assert client.post(f"/admin/points_settings/edit/{settings.pk}/", data).status_code == 200
    settings.refresh_from_db()
    assert (settings.yearly_value_cap_rmb, settings.expiry_years) == (Decimal("1000.00"), 1)
    assert not AuditEntry.objects.filter(action="points_settings.update").exists()
