"""Rewards: educational catalogue approved by compliance; concurrency-safe redemption with a yearly RMB cap;
every redemption a transfer-of-value record."""

from decimal import Decimal

import pytest
import time_machine

from engage.audit.models import AuditEntry
from engage.errors import DomainError
from members import services
from members.models import PointsAccount, PointsSettings, PointsTransaction, Redemption, Reward
from members.selectors_points import rewards_visible_to
from tests.factories import HospitalFactory, user_with_role
from tests.members.points_support import approved_reward, assert_ledger_agrees, give_points, make_doctor, race

pytestmark = pytest.mark.django_db


def _code(fn, **kwargs):
    with pytest.raises(DomainError) as exc:
        fn(**kwargs)
    return exc.value.code


# --- catalogue -------------------------------------------------------------------------------------------------


def test_draft_approve_retire_lifecycle_is_audited_and_gates_visibility():
    marketing, compliance = user_with_role("marketing"), user_with_role("compliance")
    doctor = make_doctor()
    reward = services.reward_create(actor=marketing, name="《柳叶刀》年度订阅", kind="journal",
                                    value_rmb=Decimal("300"), points_cost=800, stock=3)
    assert reward.status == "draft" and list(rewards_visible_to(doctor)) == []
    services.reward_approve(reward=reward, actor=compliance)
    reward.refresh_from_db()
    assert (reward.status, reward.approved_by, reward.approved_at is not None) == ("approved", compliance, True)
    assert list(rewards_visible_to(doctor)) == [reward]
    services.reward_retire(reward=reward, actor=marketing, reason="subscription ended")
    assert list(rewards_visible_to(doctor)) == []
    actions = list(AuditEntry.objects.filter(object_type="members.reward").order_by("id")
                   .values_list("action", flat=True))
    assert actions == ["reward.create", "reward.approve", "reward.retire"]


def test_reps_and_staff_see_no_catalogue_and_out_of_stock_is_hidden():
    reward = approved_reward(stock=1)
    assert list(rewards_visible_to(user_with_role("rep"))) == []
    assert list(rewards_visible_to(user_with_role("compliance"))) == []
    Reward.objects.filter(pk=reward.pk).update(stock=0)
    assert list(rewards_visible_to(make_doctor())) == []


@pytest.mark.parametrize("role", ["doctor", "rep", "medical_reviewer", "compliance"])
def test_only_marketing_and_admin_create_rewards(role):
    assert _code(services.reward_create, actor=user_with_role(role), name="x", kind="course",
                 value_rmb=Decimal("1"), points_cost=1, stock=1) == "forbidden"
    assert services.reward_create(actor=user_with_role("admin"), name="x", kind="course", value_rmb=Decimal("1"),
                                  points_cost=1, stock=1).status == "draft"


@pytest.mark.parametrize("role", ["doctor", "rep", "marketing", "medical_reviewer", "admin"])
def test_only_compliance_approves(role):
    reward = services.reward_create(actor=user_with_role("marketing"), name="x", kind="course",
                                    value_rmb=Decimal("1"), points_cost=1, stock=1)
    assert _code(services.reward_approve, reward=reward, actor=user_with_role(role)) == "forbidden"
    reward.refresh_from_db()
    assert reward.status == "draft"


@pytest.mark.parametrize(("field", "value", "code"), [
    ("kind", "gift_card", "invalid_reward_kind"),
    ("kind", "cash", "invalid_reward_kind"),
    ("name", "   ", "invalid_name"),
    ("name", "x" * 201, "invalid_name"),
    ("value_rmb", Decimal("-1"), "invalid_value"),
    ("points_cost", 0, "invalid_points"),
    ("points_cost", -5, "invalid_points"),
    ("stock", -1, "invalid_stock"),
])
def test_bad_reward_fields_are_refused(field, value, code):
    values = {"name": "x", "kind": "course", "value_rmb": Decimal("1"), "points_cost": 1, "stock": 1, field: value}
    assert _code(services.reward_create, actor=user_with_role("marketing"), **values) == code
    assert not Reward.objects.exists()


def test_changing_approved_terms_needs_a_new_approval_but_restocking_does_not():
    reward = approved_reward(stock=2)
    marketing = user_with_role("marketing")
    services.reward_update(reward=reward, actor=marketing, stock=10)
    reward.refresh_from_db()
    assert (reward.status, reward.stock) == ("approved", 10)
    services.reward_update(reward=reward, actor=marketing, value_rmb=Decimal("900"))
    reward.refresh_from_db()
    assert (reward.status, reward.approved_by) == ("draft", None)
    assert list(rewards_visible_to(make_doctor())) == []
    assert services.reward_approve(reward=reward, actor=user_with_role("compliance")).status == "approved"


def test_approving_twice_and_editing_retired_rewards_are_refused():
    reward = approved_reward()
    assert _code(services.reward_approve, reward=reward, actor=user_with_role("compliance")) == "reward_not_draft"
    services.reward_retire(reward=reward, actor=user_with_role("compliance"))
    assert _code(services.reward_update, reward=reward, actor=user_with_role("marketing"), stock=3) == \
        "reward_retired"
    assert _code(services.reward_retire, reward=reward, actor=user_with_role("admin")) == "reward_retired"


# --- redemption ------------------------------------------------------------------------------------------------


def test_redemption_writes_ledger_stock_and_transfer_of_value_record():
    hospital = HospitalFactory(name="北京协和医院", city="北京市")
    doctor = make_doctor(real_name="李华", hospital=hospital, licence_number="110108000012345")
    give_points(doctor, 250)
    reward = approved_reward(stock=2, points_cost=100, value_rmb="80.00")
    result = services.reward_redeem(member=doctor, reward_id=reward.pk)
    redemption = result.redemption
    assert not result.replayed
    assert (redemption.doctor_name, redemption.licence_number, redemption.hospital_name) == \
        ("李华", "110108000012345", "北京协和医院")
    assert (redemption.points, redemption.value_rmb, redemption.reward) == (100, Decimal("80.00"), reward)
    assert redemption.transaction.kind == "redeem" and redemption.transaction.amount == -100
    reward.refresh_from_db()
    assert reward.stock == 1
    assert PointsAccount.objects.get(user=doctor).balance == 150
    assert AuditEntry.objects.filter(action="points.redeem", object_id=str(redemption.pk)).exists()
    assert doctor.engagement_events.filter(kind="points_redeemed").count() == 1
    assert_ledger_agrees(doctor)


def test_same_idempotency_key_redeems_once():
    doctor = make_doctor()
    give_points(doctor, 1000)
    reward = approved_reward(stock=5)
    first = services.reward_redeem(member=doctor, reward_id=reward.pk, idempotency_key="click-1")
    second = services.reward_redeem(member=doctor, reward_id=reward.pk, idempotency_key="click-1")
    assert second.replayed and second.redemption.pk == first.redemption.pk
    assert Redemption.objects.count() == 1
    other = approved_reward(stock=5, name="other")
    assert _code(services.reward_redeem, member=doctor, reward_id=other.pk, idempotency_key="click-1") == \
        "idempotency_key_reused"
    # Another doctor's identical key is theirs alone.
    colleague = make_doctor()
    give_points(colleague, 1000)
    assert not services.reward_redeem(member=colleague, reward_id=reward.pk, idempotency_key="click-1").replayed
    # Without a key, two calls are two redemptions.
    services.reward_redeem(member=doctor, reward_id=reward.pk)
    services.reward_redeem(member=doctor, reward_id=reward.pk)
    assert Redemption.objects.filter(account__user=doctor).count() == 3


@pytest.mark.parametrize("key", ["x" * 101, "tab\there", "\n"])
def test_bad_idempotency_keys(key):
    doctor = make_doctor()
    give_points(doctor, 1000)
    reward = approved_reward()
    if key.strip():
        assert _code(services.reward_redeem, member=doctor, reward_id=reward.pk, idempotency_key=key) == \
            "invalid_idempotency_key"
        assert not Redemption.objects.exists()
    else:  # blank means "no key"
        assert services.reward_redeem(member=doctor, reward_id=reward.pk, idempotency_key=key)


def test_refusals_change_nothing():
    doctor = make_doctor()
    give_points(doctor, 150)
    reward = approved_reward(stock=1, points_cost=200)
    before = PointsTransaction.objects.count()
    assert _code(services.reward_redeem, member=doctor, reward_id=reward.pk) == "insufficient_points"
    assert _code(services.reward_redeem, member=doctor, reward_id=999999) == "reward_not_available"
    assert _code(services.reward_redeem, member=doctor, reward_id=2**70) == "reward_not_available"
    draft = services.reward_create(actor=user_with_role("marketing"), name="d", kind="course",
                                   value_rmb=Decimal("1"), points_cost=1, stock=1)
    assert _code(services.reward_redeem, member=doctor, reward_id=draft.pk) == "reward_not_available"
    Reward.objects.filter(pk=reward.pk).update(points_cost=100, stock=0)
    assert _code(services.reward_redeem, member=doctor, reward_id=reward.pk) == "out_of_stock"
    retired = approved_reward(points_cost=1)
    services.reward_retire(reward=retired, actor=user_with_role("marketing"))
    assert _code(services.reward_redeem, member=doctor, reward_id=retired.pk) == "reward_not_available"
    assert PointsTransaction.objects.count() == before
    assert not AuditEntry.objects.filter(action="points.redeem").exists() and not Redemption.objects.exists()
    assert PointsAccount.objects.get(user=doctor).balance == 150


@pytest.mark.parametrize("who", ["unverified", "rep", "marketing", "compliance", "admin"])
def test_only_verified_doctors_redeem(who):
    user = make_doctor(verified=False) if who == "unverified" else user_with_role(who)
    reward = approved_reward()
    assert _code(services.reward_redeem, member=user, reward_id=reward.pk) == "not_verified"
    assert not Redemption.objects.exists()


def test_yearly_value_cap_in_rmb_resets_in_the_shanghai_new_year():
    PointsSettings.objects.update_or_create(pk=1, defaults={"yearly_value_cap_rmb": Decimal("200.00")})
    doctor = make_doctor()
    give_points(doctor, 10_000)
    reward = approved_reward(stock=10, points_cost=10, value_rmb="80.00")
    with time_machine.travel("2026-12-31 20:00 +0800", tick=False):
        services.reward_redeem(member=doctor, reward_id=reward.pk)
        services.reward_redeem(member=doctor, reward_id=reward.pk)  # 160 RMB
        with pytest.raises(DomainError) as exc:
            services.reward_redeem(member=doctor, reward_id=reward.pk)  # 240 > 200
        assert exc.value.code == "yearly_value_cap" and exc.value.details["used_rmb"] == "160.00"
    with time_machine.travel("2027-01-01 00:30 +0800", tick=False):  # still 2026 in UTC
        services.reward_redeem(member=doctor, reward_id=reward.pk)
    assert Redemption.objects.count() == 3


def test_exactly_reaching_the_cap_is_allowed():
    PointsSettings.objects.update_or_create(pk=1, defaults={"yearly_value_cap_rmb": Decimal("100.00")})
    doctor = make_doctor()
    give_points(doctor, 1000)
    reward = approved_reward(points_cost=10, value_rmb="50.00")
    services.reward_redeem(member=doctor, reward_id=reward.pk)
    services.reward_redeem(member=doctor, reward_id=reward.pk)
    assert _code(services.reward_redeem, member=doctor, reward_id=reward.pk) == "yearly_value_cap"


def test_the_snapshot_keeps_the_hospital_of_the_day():
    doctor = make_doctor()
    give_points(doctor, 1000)
    reward = approved_reward()
    redemption = services.reward_redeem(member=doctor, reward_id=reward.pk).redemption
    old_name = redemption.hospital_name
    profile = doctor.doctor_profile
    profile.hospital = HospitalFactory(name="新医院")
    profile.save()
    redemption.refresh_from_db()
    assert redemption.hospital_name == old_name != "新医院"


# --- concurrency -----------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_fifty_doctors_racing_for_ten_units_get_exactly_ten():
    PointsSettings.objects.update_or_create(pk=1, defaults={"yearly_value_cap_rmb": Decimal("100000")})
    doctors = [make_doctor() for _ in range(50)]
    admin = user_with_role("admin")
    for doctor in doctors:
        give_points(doctor, 150, actor=admin)
    reward = approved_reward(stock=10, points_cost=100)
    results = race(50, lambda i: services.reward_redeem(member=doctors[i], reward_id=reward.pk))
    won = [r for r in results if isinstance(r, services.RedeemResult)]
    lost = [r for r in results if not isinstance(r, services.RedeemResult)]
    assert len(won) == 10
    assert all(isinstance(r, DomainError) and r.code == "out_of_stock" for r in lost), lost
    reward.refresh_from_db()
    assert reward.stock == 0
    assert Redemption.objects.count() == 10
    for doctor in doctors:
        assert_ledger_agrees(doctor)
    assert sorted(PointsAccount.objects.values_list("balance", flat=True)) == [50] * 10 + [150] * 40


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_one_doctor_hammering_redeem_never_goes_negative():
    PointsSettings.objects.update_or_create(pk=1, defaults={"yearly_value_cap_rmb": Decimal("100000")})
    doctor = make_doctor()
    give_points(doctor, 1000)  # enough for 10 of 100
    reward = approved_reward(stock=30, points_cost=100)
    results = race(50, lambda i: services.reward_redeem(member=doctor, reward_id=reward.pk))
    won = [r for r in results if isinstance(r, services.RedeemResult)]
    assert len(won) == 10
    assert all(isinstance(r, services.RedeemResult) or r.code == "insufficient_points" for r in results)
    reward.refresh_from_db()
    assert reward.stock == 20
    assert PointsAccount.objects.get(user=doctor).balance == 0
    assert_ledger_agrees(doctor)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_fifty_double_clicks_with_one_key_redeem_once():
    doctor = make_doctor()
    give_points(doctor, 1000)
    reward = approved_reward(stock=30, points_cost=100)
    results = race(50, lambda i: services.reward_redeem(member=doctor, reward_id=reward.pk, idempotency_key="k"))
    assert all(isinstance(r, services.RedeemResult) for r in results), results
    assert len({r.redemption.pk for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert Redemption.objects.count() == 1
    assert_ledger_agrees(doctor)
