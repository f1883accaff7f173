"""seed_demo gives demo doctors a points history, an approved catalogue and a few redemptions, idempotently."""

from io import StringIO

import pytest
from django.core.management import call_command

from members.accounts.models import User
from members.points.demo import REWARDS, seed_demo_points
from members.points.models import PointsAccount, PointsTransaction, Redemption, Reward
from tests.members.factories import assert_ledger_agrees

pytestmark = pytest.mark.django_db


def test_demo_points_are_seeded_once_and_consistent():
    call_command("seed_demo", "--force", stdout=StringIO(), stderr=StringIO())
    rewards = Reward.objects.filter(name__in=[r[0] for r in REWARDS])
    assert rewards.count() == len(REWARDS)
    assert set(rewards.values_list("status", flat=True)) == {"approved"}
    assert all(r.approved_by_id for r in rewards)
    doctors = User.objects.filter(username__startswith="demo-doctor-")
    assert PointsAccount.objects.filter(user__in=doctors, balance__gt=0).count() == doctors.count()
    earned = PointsTransaction.objects.filter(kind="earn", idempotency_key__startswith="demo:")
    assert earned.count() >= doctors.count() * 5
    assert earned.dates("created_at", "month").count() >= 4  # spread over the last months
    assert 1 <= Redemption.objects.count() <= 3
    for redemption in Redemption.objects.all():
        assert redemption.licence_number and redemption.hospital_name and redemption.doctor_name
    for user in doctors[:20]:
        assert_ledger_agrees(user)
    for redemption in Redemption.objects.select_related("account__user"):
        assert_ledger_agrees(redemption.account.user)

    before = (PointsTransaction.objects.count(), Redemption.objects.count(), Reward.objects.count())
    assert seed_demo_points() == {"rewards": 0, "points transactions": 0, "redemptions": 0}
    call_command("seed_demo", "--force", stdout=StringIO(), stderr=StringIO())
    assert (PointsTransaction.objects.count(), Redemption.objects.count(), Reward.objects.count()) == before
