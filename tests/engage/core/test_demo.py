"""`manage.py seed_demo`: the demo portal's people and hospitals, created once and never duplicated."""

import re
from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError

from engage.audit.models import AuditEntry
from engage.core.roles import Role, has_role, roles_of
from members.accounts import demo as demo_data
from members.accounts.models import User
from members.accounts.phone import normalise_mobile
from members.hospitals.models import Department, Hospital
from members.profiles.models import DoctorProfile

pytestmark = pytest.mark.django_db
STAFF_LOGINS = {
    "marketing@demo.engage.local": Role.MARKETING,
    "reviewer@demo.engage.local": Role.MEDICAL_REVIEWER,
    "compliance@demo.engage.local": Role.COMPLIANCE,
    "admin@demo.engage.local": Role.ADMIN,
}


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=out)
    return out.getvalue()


def snapshot() -> dict[str, list]:
    """Every row the seed may write, with every column, so that any change shows."""
    return {
        "users": list(User.objects.order_by("pk").values()),
        "profiles": list(DoctorProfile.objects.order_by("pk").values()),
        "hospitals": list(Hospital.objects.order_by("pk").values()),
        "departments": list(Department.objects.order_by("pk").values()),
        "hospital_departments": list(Hospital.departments.through.objects.order_by("pk").values()),
        "memberships": list(User.groups.through.objects.order_by("pk").values()),
        "email_addresses": list(EmailAddress.objects.order_by("pk").values()),
        "audit": list(AuditEntry.objects.order_by("pk").values()),
    }


@pytest.fixture
def seeded():
    seed("--force")


def test_seed_creates_the_demo_portal_once():
    first = seed("--force")
    assert "Demo data created" in first

    assert Hospital.objects.count() == 20
    assert DoctorProfile.objects.count() == 200
    assert User.objects.filter(username__startswith="demo-doctor-").count() == 200
    assert Group.objects.get(name=Role.DOCTOR).user_set.count() == 200
    assert Group.objects.get(name=Role.REP).user_set.filter(username__startswith="demo-rep-").count() == 10
    for email, role in STAFF_LOGINS.items():
        assert list(Group.objects.get(name=role).user_set.values_list("email", flat=True)) == [email]
    assert Department.objects.count() == len(demo_data.DEPARTMENTS)
    assert AuditEntry.objects.filter(action="demo.seed").count() == 1
    entry = AuditEntry.objects.get(action="demo.seed")
    assert entry.actor_id is None
    assert entry.after["created"]["doctor profiles"] == 200

    before = snapshot()
    second = seed("--force")
    assert "nothing created" in second
    assert snapshot() == before  # no new row, no changed column, no second audit entry


def test_demo_doctors_are_verified_doctors_with_plausible_profiles(seeded):
    doctors = User.objects.filter(username__startswith="demo-doctor-").select_related(
        "doctor_profile__hospital", "doctor_profile__department"
    )
    assert doctors.count() == 200
    for user in doctors:
        assert has_role(user, Role.DOCTOR)
        assert roles_of(user) == {Role.DOCTOR}
        assert user.mobile_verified
        assert normalise_mobile(user.mobile) == user.mobile
        assert not user.has_usable_password()  # doctors sign in with an SMS code
        profile = user.doctor_profile
        assert profile.real_name == user.display_name
        assert re.fullmatch(r"\d{15}", profile.licence_number)
        assert profile.hospital.departments.filter(pk=profile.department_id).exists()

    first = User.objects.get(username="demo-doctor-001")
    assert first.mobile == "+8613900000001"
    assert first.doctor_profile.real_name == demo_data.doctor_specs()[0].name
    assert User.objects.get(username="demo-doctor-200").mobile == "+8613900000200"
    assert DoctorProfile.objects.values("licence_number").distinct().count() == 200
    assert Hospital.objects.filter(doctors__isnull=True).count() == 0  # every hospital has doctors

    titles = {t: DoctorProfile.objects.filter(title=t).count() for t in DoctorProfile.Title.values}
    assert 0 < titles["chief"] < titles["associate_chief"] < titles["attending"]
    assert titles["chief"] < titles["resident"]


def test_demo_hospitals_carry_master_data(seeded):
    huaxi = Hospital.objects.get(name="四川大学华西医院")
    assert (huaxi.province, huaxi.city, huaxi.level_grade) == ("四川省", "成都市", "三级甲等")
    assert "华西医院" in huaxi.aliases
    assert huaxi.departments.filter(code="endocrinology").exists()
    assert Hospital.objects.filter(level="3", grade="甲").count() >= 15
    assert Hospital.objects.filter(level="2").exists()
    assert Hospital.objects.filter(level="3", grade="乙").exists()
    assert Hospital.objects.values("province").distinct().count() >= 8
    for hospital in Hospital.objects.all():
        assert hospital.normalised_name == Hospital.normalise(hospital.name)
        assert hospital.beds and hospital.yearly_outpatient_visits and hospital.address and hospital.district


def test_demo_reps_hold_the_rep_role(seeded):
    reps = User.objects.filter(username__startswith="demo-rep-").order_by("username")
    assert [r.mobile for r in reps] == [f"+86137000000{n:02d}" for n in range(1, 11)]
    assert all(roles_of(rep) == {Role.REP} and rep.mobile_verified for rep in reps)


def test_demo_staff_sign_in_with_the_demo_password(seeded, client):
    assert client.login(username="demo-admin", password=demo_data.DEMO_PASSWORD)
    for email, role in STAFF_LOGINS.items():
        user = authenticate(None, email=email, password=demo_data.DEMO_PASSWORD)
        assert user is not None and user.email == email
        assert has_role(user, role)
        assert EmailAddress.objects.filter(user=user, email=email, verified=True, primary=True).exists()
        assert authenticate(None, email=email, password="wrong-password-2026") is None
    admin = User.objects.get(email="admin@demo.engage.local")
    assert admin.is_superuser and admin.is_staff
    assert not User.objects.filter(is_superuser=True).exclude(pk=admin.pk).exists()


def test_refuses_without_force_when_debug_is_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        seed()
    assert not User.objects.exists()
    assert not Hospital.objects.exists()
    assert not AuditEntry.objects.filter(action="demo.seed").exists()


def test_runs_without_force_when_debug_is_on(settings):
    settings.DEBUG = True
    seed()
    assert DoctorProfile.objects.count() == 200


def test_existing_rows_are_reused_and_left_unchanged(make_user):
    # A developer signed up with demo doctor 001's number and made a department under the standard name.
    stranger = make_user(mobile="+8613900000001", username="someone-else")
    endocrinology = Department.objects.create(code="endo", name="内分泌科", name_en="Endo")

    out = seed("--force")

    assert "Skipped demo-doctor-001" in out
    assert not User.objects.filter(username="demo-doctor-001").exists()
    assert DoctorProfile.objects.count() == 199
    stranger.refresh_from_db()
    assert (stranger.username, roles_of(stranger)) == ("someone-else", frozenset())
    endocrinology.refresh_from_db()
    assert (endocrinology.code, endocrinology.name_en) == ("endo", "Endo")
    assert not Department.objects.filter(code="endocrinology").exists()
    assert DoctorProfile.objects.filter(department=endocrinology).exists()


def test_seeding_prints_a_short_summary_ending_with_the_demo_log_ins(settings, capsys, caplog):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"  # as on `make run`
    out, err = StringIO(), StringIO()
    caplog.set_level("INFO")
    call_command("seed_demo", "--force", stdout=out, stderr=err)
    printed = capsys.readouterr()
    lines = [line for line in (out.getvalue() + err.getvalue() + printed.out + printed.err).splitlines() if line]
    assert len(lines) <= 10, lines[:20]  # was ~7,000: Wagtail's workflow e-mails and task logs
    assert "Subject:" not in printed.out and "Content-Type" not in printed.out
    assert not [r for r in caplog.records if r.levelname == "INFO" and r.name.startswith(("wagtail", "django_tasks"))]
    assert lines[-1].startswith("Demo log-ins:") and "admin@demo.engage.local" in lines[-1]
    assert "Demo data created" in out.getvalue()
