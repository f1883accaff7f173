"""Builders shared by the members tests (points, profiles, verification, consents, privacy)."""

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from members.hospitals.models import Department, Hospital, TherapyArea
from members.points import services
from members.points.models import PointsAccount, PointsRule, PointsTransaction, Reward
from members.points.selectors import ledger_balance
from members.profiles.models import DoctorProfile
from tests.factories import user_with_role


def admin_user():
    return user_with_role("admin")


def give_points(user, amount: int, *, actor=None):
    """Credits `user` through the admin adjustment service."""
    account = services.account_for(user)
    return services.points_adjust(account=account, amount=amount, reason="test credit", actor=actor or admin_user())


def approved_reward(*, stock: int = 5, points_cost: int = 100, value_rmb: str = "50.00", name: str = "NEJM 全文",
                    kind: str = Reward.Kind.LITERATURE):
    reward = services.reward_create(actor=user_with_role("marketing"), name=name, kind=kind,
                                    value_rmb=Decimal(value_rmb), points_cost=points_cost, stock=stock)
    return services.reward_approve(reward=reward, actor=user_with_role("compliance"))


def rule(code: str = "read_article", **changes) -> PointsRule:
    rule = PointsRule.objects.get(code=code)
    if changes:
        PointsRule.objects.filter(pk=rule.pk).update(**changes)
        rule.refresh_from_db()
    return rule


def assert_ledger_agrees(user) -> None:
    """sum(amount) == account.balance == the newest row's balance_after, and balance_after chains."""
    account = PointsAccount.objects.get(user=user)
    rows = list(PointsTransaction.objects.filter(account=account).order_by("created_at", "id"))
    running = 0
    for row in rows:
        running += row.amount
        assert row.balance_after == running, row
        assert running >= 0
    assert ledger_balance(account) == account.balance == running
    if rows:
        assert rows[-1].balance_after == account.balance


GOOD_LICENCE = "110110000000001"


def jpeg_bytes(size=(60, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 180, 90)).save(out, "JPEG")
    return out.getvalue()


def png_bytes(size=(60, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 80, 200)).save(out, "PNG")
    return out.getvalue()


def pdf_bytes() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def upload(name="certificate.jpg", content=None, content_type="image/jpeg"):
    return SimpleUploadedFile(name, jpeg_bytes() if content is None else content, content_type=content_type)


@pytest.fixture(autouse=True)
def _private_files_cleanup(monkeypatch):
    """Certificates land in the real private storage (PRIVATE_ROOT); delete the files this test wrote, and only
    those (other test runs may share the directory)."""
    storage = DoctorProfile._meta.get_field("certificate").storage
    saved = []
    original = storage._save

    def recording_save(name, content):
        name = original(name, content)
        saved.append(name)
        return name

    monkeypatch.setattr(storage, "_save", recording_save)
    yield
    for name in saved:
        storage.delete(name)


@pytest.fixture
def master_data(db):
    hospital = Hospital.objects.create(name="北京协和医院", aliases=["协和"], province="北京市", city="北京市",
                                       level="3", grade="甲")
    other = Hospital.objects.create(name="上海瑞金医院", province="上海市", city="上海市", level="3", grade="甲")
    department, _ = Department.objects.get_or_create(code="endocrinology",
                                                     defaults={"name": "内分泌科", "name_en": "Endocrinology"})
    area = TherapyArea.objects.get(code="diabetes")
    return {"hospital": hospital, "other_hospital": other, "department": department, "area": area}


def form_data(master, **overrides) -> dict:
    data = {
        "real_name": "王丽华",
        "gender": "female",
        "hospital": str(master["hospital"].pk),
        "department": str(master["department"].pk),
        "title": "attending",
        "specialties": [str(master["area"].pk)],
        "licence_number": GOOD_LICENCE,
        "accept_privacy": "on",
        "marketing_sms": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def submit_profile(user, master, **overrides):
    """A profile created through the service, as the form does it; returns it (status pending)."""
    from members.profiles.services import ProfileInput, profile_complete

    values = {"real_name": "王丽华", "gender": "female", "hospital_id": master["hospital"].pk,
              "department_id": master["department"].pk, "title": "attending",
              "specialty_ids": [master["area"].pk], "licence_number": GOOD_LICENCE}
    values.update(overrides)
    return profile_complete(user=user, data=ProfileInput(**values), certificate=upload(), privacy=True,
                            marketing={"marketing_sms": True}, ip_address="203.0.113.7", user_agent="pytest")
