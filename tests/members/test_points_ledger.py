"""The ledger is the truth: balance derivable from it; expiry FIFO across year boundaries; admin adjustments."""

import random
from datetime import date
from decimal import Decimal

import pytest
import time_machine

from engage.audit.models import AuditEntry
from engage.errors import DomainError
from members import services
from members.models import PointsAccount, PointsSettings, PointsTransaction
from members.selectors_points import accounts_with_expired_credits, ledger_balance, points_summary
from members.services.points import account_for, expiring_amount
from members.tasks import points_expire
from tests.factories import user_with_role
from tests.members.points_support import approved_reward, assert_ledger_agrees, make_doctor

pytestmark = pytest.mark.django_db


def test_balance_equals_ledger_after_many_random_operations():
    PointsSettings.objects.update_or_create(pk=1, defaults={"yearly_value_cap_rmb": Decimal("1000000")})
    rng = random.Random(20260101)
    doctors = [make_doctor() for _ in range(3)]
    admin = user_with_role("admin")
    rewards = [approved_reward(stock=1000, points_cost=cost, name=f"r{cost}") for cost in (10, 35, 120)]
    rules = ["read_article", "attend_meeting", "survey_answer", "live_watch", "profile_verified"]
    day = date(2026, 1, 5)
    for step in range(400):
        if step % 25 == 0:
            day = date.fromordinal(day.toordinal() + rng.randint(30, 100))
        with time_machine.travel(f"{day.isoformat()} 12:00 +0800", tick=False):
            doctor = rng.choice(doctors)
            op = rng.random()
            try:
                if op < 0.55:
                    services.points_award(member=doctor, rule_code=rng.choice(rules),
                                          source=("cms.article", rng.randint(1, 60)))
                elif op < 0.65:
                    services.reward_redeem(member=doctor, reward_id=rng.choice(rewards).pk)
                elif op < 0.9:
                    services.points_adjust(account=account_for(doctor), amount=rng.randint(-80, 80) or 1,
                                           reason="random", actor=admin)
                else:
                    services.points_expire_due()
            except DomainError as exc:
                assert exc.code in {"insufficient_points", "yearly_value_cap"}
    for doctor in doctors:
        assert_ledger_agrees(doctor)
    # Two calendar years after the last activity everything left has expired, FIFO or not.
    with time_machine.travel(f"{day.year + 3}-01-01 01:00 +0800", tick=False):
        services.points_expire_due()
    assert set(PointsTransaction.objects.values_list("kind", flat=True)) == {"earn", "redeem", "adjust", "expire"}
    assert set(PointsAccount.objects.values_list("balance", flat=True)) == {0}
    for doctor in doctors:
        assert_ledger_agrees(doctor)
        assert points_summary(doctor).balance == PointsAccount.objects.get(user=doctor).balance


# --- expiry ----------------------------------------------------------------------------------------------------


def _award(doctor, when: str, rule: str, n: int) -> None:
    with time_machine.travel(when, tick=False):
        assert services.points_award(member=doctor, rule_code=rule, source=("src", n)).awarded


def test_points_expire_at_the_end_of_the_next_year_fifo_after_spending():
    doctor = make_doctor()
    _award(doctor, "2026-03-01 10:00 +0800", "attend_meeting", 1)  # 50, valid until 2027-12-31
    _award(doctor, "2026-12-31 23:50 +0800", "survey_answer", 2)   # 20, valid until 2027-12-31
    _award(doctor, "2027-01-01 00:10 +0800", "live_watch", 3)      # 30, valid until 2028-12-31
    admin = user_with_role("admin")
    with time_machine.travel("2027-06-01 10:00 +0800", tick=False):
        services.points_adjust(account=account_for(doctor), amount=-40, reason="correction", actor=admin)
    # The last day of validity: nothing expires yet.
    with time_machine.travel("2027-12-31 23:59 +0800", tick=False):
        assert services.points_expire_due() == 0
        assert points_summary(doctor).expiring_points == 30  # 70 earned in 2026, 40 of them spent
    # 01:00 Shanghai on 2028-01-01 is still 2027 in UTC: the Shanghai date decides.
    with time_machine.travel("2028-01-01 01:00 +0800", tick=False):
        assert services.points_expire_due() == 1
        assert services.points_expire_due() == 0  # idempotent the same day
    row = PointsTransaction.objects.get(kind="expire")
    assert (row.amount, row.balance_after, row.idempotency_key) == (-30, 30, f"expire:{row.account_id}:2028-01-01")
    assert AuditEntry.objects.filter(action="points.expire").count() == 1
    # A day later nothing more is due; the 2027 points last until the end of 2028.
    with time_machine.travel("2028-01-02 01:00 +0800", tick=False):
        assert services.points_expire_due() == 0
    with time_machine.travel("2029-01-01 01:00 +0800", tick=False):
        assert services.points_expire_due() == 1
    assert PointsAccount.objects.get(user=doctor).balance == 0
    assert_ledger_agrees(doctor)


def test_spent_points_do_not_expire():
    doctor = make_doctor()
    _award(doctor, "2026-05-01 10:00 +0800", "attend_meeting", 1)
    with time_machine.travel("2026-06-01 10:00 +0800", tick=False):
        services.points_adjust(account=account_for(doctor), amount=-50, reason="spent", actor=user_with_role("admin"))
    with time_machine.travel("2028-01-01 01:00 +0800", tick=False):
        assert services.points_expire_due() == 0
    assert not PointsTransaction.objects.filter(kind="expire").exists()


def test_newer_points_survive_when_older_ones_expire():
    doctor = make_doctor()
    _award(doctor, "2026-05-01 10:00 +0800", "attend_meeting", 1)  # 50 → 2027-12-31
    _award(doctor, "2027-05-01 10:00 +0800", "attend_meeting", 2)  # 50 → 2028-12-31
    with time_machine.travel("2027-08-01 10:00 +0800", tick=False):
        services.points_adjust(account=account_for(doctor), amount=-60, reason="spent", actor=user_with_role("admin"))
    account = PointsAccount.objects.get(user=doctor)
    assert expiring_amount(account, before=date(2028, 1, 1)) == 0  # the 60 used up the oldest 50 first
    assert expiring_amount(account, before=date(2029, 1, 1)) == 40
    with time_machine.travel("2029-01-01 01:00 +0800", tick=False):
        points_expire.run()  # the Celery task body, as beat would run it
    assert PointsAccount.objects.get(user=doctor).balance == 0


def test_the_task_only_visits_accounts_with_something_due():
    due, fresh, empty = make_doctor(), make_doctor(), make_doctor()
    _award(due, "2025-05-01 10:00 +0800", "attend_meeting", 1)
    _award(fresh, "2026-05-01 10:00 +0800", "attend_meeting", 1)
    account_for(empty)
    ids = accounts_with_expired_credits(today=date(2027, 1, 1))
    assert ids == [PointsAccount.objects.get(user=due).pk]


def test_expiry_is_on_the_beat_schedule_daily_at_one():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["members-points-expire"]
    assert entry["task"] == "members.tasks.points_expire"
    assert entry["schedule"].hour == {1} and entry["schedule"].minute == {0}
    assert settings.CELERY_TIMEZONE == "Asia/Shanghai"


# --- adjustments -----------------------------------------------------------------------------------------------


def test_admin_adjusts_with_a_reason_and_it_is_audited():
    doctor, admin = make_doctor(), user_with_role("admin")
    account = account_for(doctor)
    with time_machine.travel("2026-07-01 10:00 +0800", tick=False):
        row = services.points_adjust(account=account, amount=120, reason="  补录会议积分 ", actor=admin)
    assert (row.kind, row.amount, row.reason, row.actor, row.expires_on) == \
        ("adjust", 120, "补录会议积分", admin, date(2027, 12, 31))
    entry = AuditEntry.objects.get(action="points.adjust")
    assert (entry.before, entry.after["balance"], entry.reason) == ({"balance": 0}, 120, "补录会议积分")
    services.points_adjust(account=account, amount=-120, reason="reversal", actor=admin)
    assert ledger_balance(account) == 0
    assert_ledger_agrees(doctor)


@pytest.mark.parametrize("role", ["doctor", "rep", "marketing", "medical_reviewer", "compliance"])
def test_only_admins_adjust(role):
    account = account_for(make_doctor())
    with pytest.raises(DomainError) as exc:
        services.points_adjust(account=account, amount=10, reason="x", actor=user_with_role(role))
    assert (exc.value.code, exc.value.status) == ("forbidden", 403)
    assert not PointsTransaction.objects.exists()


@pytest.mark.parametrize(("amount", "reason", "code"), [
    (0, "x", "invalid_amount"),
    (100_001, "x", "invalid_amount"),
    (-100_001, "x", "invalid_amount"),
    (10**30, "x", "invalid_amount"),
    (1.5, "x", "invalid_amount"),
    ("10", "x", "invalid_amount"),
    (True, "x", "invalid_amount"),
    (10, "", "reason_required"),
    (10, "   ", "reason_required"),
    (10, "x" * 1001, "reason_required"),
    (-1, "more than the balance", "insufficient_points"),
])
def test_bad_adjustments_change_nothing(amount, reason, code):
    account = account_for(make_doctor())
    with pytest.raises(DomainError) as exc:
        services.points_adjust(account=account, amount=amount, reason=reason, actor=user_with_role("admin"))
    assert exc.value.code == code
    assert not PointsTransaction.objects.exists()
    assert PointsAccount.objects.get(pk=account.pk).balance == 0


def test_adjustment_with_the_same_key_is_written_once():
    account, admin = account_for(make_doctor()), user_with_role("admin")
    first = services.points_adjust(account=account, amount=5, reason="r", actor=admin, idempotency_key="form-1")
    again = services.points_adjust(account=account, amount=5, reason="r", actor=admin, idempotency_key="form-1")
    assert first.pk == again.pk and PointsTransaction.objects.count() == 1


def test_balance_cannot_go_negative_even_bypassing_services():
    from django.db import IntegrityError, transaction

    account = account_for(make_doctor())
    with pytest.raises(IntegrityError), transaction.atomic():
        PointsAccount.objects.filter(pk=account.pk).update(balance=-1)
    with pytest.raises(IntegrityError), transaction.atomic():
        PointsTransaction.objects.create(account=account, amount=-5, kind="earn", idempotency_key="x",
                                         balance_after=0)
