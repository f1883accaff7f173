"""Helpers shared by the points tests (not a test module)."""

import threading
from decimal import Decimal

from django.contrib.auth.models import Group
from django.db import connection

from members import services
from members.models import DoctorProfile, PointsAccount, PointsRule, PointsTransaction, Reward
from members.selectors_points import ledger_balance
from tests.factories import DoctorProfileFactory, user_with_role

_licence = iter(range(10**6))


def make_doctor(*, verified: bool = True, **profile_fields):
    """A doctor member with a profile (verified unless told otherwise)."""
    n = next(_licence)
    profile = DoctorProfileFactory(
        status=DoctorProfile.Status.VERIFIED if verified else DoctorProfile.Status.PENDING,
        licence_number=profile_fields.pop("licence_number", f"1101{n:011d}"), **profile_fields,
    )
    profile.user.groups.add(Group.objects.get(name="doctor"))
    return profile.user


def admin_user():
    return user_with_role("admin")


def give_points(user, amount: int, *, actor=None):
    """Credits `user` through the admin adjustment service."""
    account = services.points.account_for(user)
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


def race(n: int, fn) -> list:
    """Runs fn(i) in n threads released together; returns results or exceptions, in thread order."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        try:
            barrier.wait(timeout=30)
            results[i] = fn(i)
        except Exception as exc:  # collected and asserted on by the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results
