"""Personal data rights: download everything (JSON, Excel) and close the account."""

import io
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from engage.audit.models import AuditEntry
from engage.core.errors import DomainError
from engage.core.personal_data import personal_data_registry
from members.accounts.models import User
from members.consents.models import Consent
from members.consents.services import consent_give
from members.engagement.models import EngagementEvent
from members.points.models import PointsTransaction
from members.privacy.services import account_close
from members.profiles.models import DoctorProfile
from tests.factories import make_doctor
from tests.members import factories as profile_support
from tests.members.factories import GOOD_LICENCE

# Fixtures shared with the other profile test modules.
_private_files_cleanup = profile_support._private_files_cleanup
master_data = profile_support.master_data


@pytest.fixture
def verified_doctor(make_user, master_data):
    """Signed up through the profile form (王丽华, GOOD_LICENCE) and verified by compliance, with the records."""
    return make_doctor(via_services=True, user=make_user(display_name="=HYPERLINK(\"http://evil\")",
                                                         privacy_consent=False),
                       hospital=master_data["hospital"], department=master_data["department"],
                       specialties=[master_data["area"]], licence_number=GOOD_LICENCE)


def test_json_export_has_every_part(client, verified_doctor):
    client.force_login(verified_doctor)
    response = client.get("/members/me/data.json")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    assert data["account"]["mobile"] == verified_doctor.mobile
    assert data["profile"]["licence_number"] == GOOD_LICENCE
    assert [d["to"] for d in data["verification_history"]] == ["pending", "verified"]
    assert {c["kind"] for c in data["consents"]} == {"privacy", "marketing_sms"}
    assert all(c["ip_address"] == "203.0.113.7" for c in data["consents"])
    assert {"profile_submitted", "verified", "consent_given"} <= {e["kind"] for e in data["engagement_events"]}
    assert [t["amount"] for t in data["points_transactions"]] == [100]
    assert AuditEntry.objects.filter(action="privacy.export", actor_id=verified_doctor.pk).exists()


def test_excel_export_has_a_sheet_per_part_and_no_formulas(client, verified_doctor):
    client.force_login(verified_doctor)
    response = client.get("/members/me/data.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    sections = [entry.section for entry in personal_data_registry()]
    assert book.sheetnames == ["account", *sections]
    assert sections[:5] == ["profile", "verification_history", "consents", "engagement_events",
                            "points_transactions"]  # the parts of the first version come first
    values = {row[0]: row[1] for row in book["account"].iter_rows(min_row=2, values_only=True)}
    assert values["mobile"] == verified_doctor.mobile
    assert values["display_name"].startswith("'=")  # text, never a formula


def test_export_of_a_user_without_profile(client, make_user):
    user = make_user()
    client.force_login(user)
    data = json.loads(client.get("/members/me/data.json").content)
    assert data["profile"] is None and data["points_transactions"] == []
    assert client.get("/members/me/data.xlsx").status_code == 200
    assert client.get("/members/me/data.csv").status_code == 404


def test_export_and_close_need_sign_in(client):
    for url in ("/members/me/data.json", "/members/me/data.xlsx", "/members/me/close/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response.url


@pytest.mark.parametrize("role", ["doctor", "rep", "marketing", "compliance", "admin", "medical_reviewer"])
def test_every_role_exports_only_their_own_data(client, role_user, verified_doctor, role):
    user = role_user(role)
    client.force_login(user)
    data = json.loads(client.get("/members/me/data.json").content)
    assert data["account"]["id"] == user.pk
    assert verified_doctor.mobile not in json.dumps(data)


@pytest.mark.parametrize("phrase", ["", "close", "注销", "CLOSE MY ACCOUNT!"])
def test_close_needs_the_exact_phrase(verified_doctor, phrase):
    with pytest.raises(DomainError) as exc:
        account_close(user=verified_doctor, confirmation=phrase)
    assert exc.value.code == "confirmation_mismatch"
    verified_doctor.refresh_from_db()
    assert verified_doctor.is_active


def test_close_erases_personal_fields_and_keeps_compliance_records(verified_doctor,
                                                                   django_capture_on_commit_callbacks):
    user = verified_doctor
    profile = DoctorProfile.objects.get(user=user)
    certificate = Path(profile.certificate.path)
    assert certificate.is_file()
    ledger = PointsTransaction.objects.filter(account__user=user).count()
    events = EngagementEvent.objects.filter(doctor=user).count()
    with django_capture_on_commit_callbacks(execute=True):
        account_close(user=user, confirmation="确认注销")

    user = User.objects.get(pk=user.pk)
    assert (user.username, user.email, user.mobile) == (f"closed-{user.pk}", f"closed-{user.pk}@invalid", None)
    assert (user.display_name, user.first_name, user.last_name) == ("", "", "")
    assert not user.is_active and not user.has_usable_password()
    assert not user.groups.exists()
    profile.refresh_from_db()
    assert profile.real_name == f"closed-{user.pk}"
    assert profile.licence_number == "" and not profile.certificate
    assert profile.status == "rejected" and not profile.is_speaker
    assert not certificate.exists()
    assert not Consent.objects.filter(user=user, withdrawn_at__isnull=True).exists()
    assert Consent.objects.filter(user=user).count() == 2  # the evidence of what was agreed stays
    assert PointsTransaction.objects.filter(account__user=user).count() == ledger
    assert EngagementEvent.objects.filter(doctor=user).count() == events
    assert AuditEntry.objects.filter(action="account.close", object_id=str(user.pk)).exists()
    # The number is gone from the database; the audit log never held it.
    assert not User.objects.filter(mobile__isnull=False, pk=user.pk).exists()
    assert not DoctorProfile.objects.filter(licence_number=GOOD_LICENCE).exists()
    with pytest.raises(DomainError):
        account_close(user=user, confirmation="确认注销")


def test_close_page_flow_signs_out(client, verified_doctor):
    client.force_login(verified_doctor)
    page = client.get("/members/me/close/")
    assert page.status_code == 200 and "确认注销" in page.content.decode()
    assert client.post("/members/me/close/", {"confirmation": "no"}).status_code == 400
    response = client.post("/members/me/close/", {"confirmation": "close my account"})
    assert response.status_code == 302 and response.url == "/"
    assert client.get("/members/me/").status_code == 302  # signed out
    assert not User.objects.get(pk=verified_doctor.pk).is_active


def test_staff_accounts_are_not_closed_by_themselves(make_user):
    staff = make_user(is_staff=True)
    with pytest.raises(DomainError) as exc:
        account_close(user=staff, confirmation="CLOSE MY ACCOUNT")
    assert exc.value.code == "staff_account"


def test_withdrawn_consents_are_exported(client, make_user):
    user = make_user()
    consent_give(user=user, kind="marketing_email")
    from members.consents.services import consent_withdraw

    consent_withdraw(user=user, kind="marketing_email")
    client.force_login(user)
    data = json.loads(client.get("/members/me/data.json").content)
    assert next(c for c in data["consents"] if c["kind"] == "marketing_email")["withdrawn_at"] is not None
