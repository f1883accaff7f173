"""Reads for academic points: balances, history, the doctor-facing catalogue, transfer-of-value records.

Every function runs a fixed number of queries whatever the size of the ledger (aggregates and pagination).
"""

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from engage.core.roles import Capability, can
from members.points.models import PointsAccount, PointsTransaction, Redemption, Reward
from members.profiles.models import DoctorProfile

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class PointsSummary:
    balance: int
    expiring_points: int  # unused points that expire at the end of this year
    expiring_on: date
    earned_this_year: int


def local_today(now: datetime | None = None) -> date:
    """Today's date in China (points days and years are Shanghai days and years)."""
    return (now or timezone.now()).astimezone(SHANGHAI).date()


def local_day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


def is_points_member(user) -> bool:
    """Doctors (by role or by profile) hold points; reps and staff do not."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if can(user, Capability.EARN_POINTS):
        return True
    return DoctorProfile.objects.filter(user=user).exists()


def points_summary(user) -> PointsSummary:
    """Balance and what expires at the end of this year, in one query (FIFO by expiry date)."""
    today = local_today()
    year_end = date(today.year, 12, 31)
    sums = PointsTransaction.objects.filter(account__user=user).aggregate(
        balance=Sum("amount"),
        expiring=Sum("amount", filter=Q(amount__gt=0, expires_on__lte=year_end)),
        debits=Sum("amount", filter=Q(amount__lt=0)),
        earned=Sum("amount", filter=Q(kind=PointsTransaction.Kind.EARN,
                                      created_at__gte=local_day_start(date(today.year, 1, 1)))),
    )
    expiring = max((sums["expiring"] or 0) + (sums["debits"] or 0), 0)
    return PointsSummary(balance=sums["balance"] or 0, expiring_points=expiring, expiring_on=year_end,
                         earned_this_year=sums["earned"] or 0)


def ledger_balance(account: PointsAccount) -> int:
    """The balance as the ledger says it is: the sum of every transaction."""
    return PointsTransaction.objects.filter(account=account).aggregate(total=Sum("amount"))["total"] or 0


def points_history(user, *, kind: str | None = None, date_from: date | None = None,
                   date_to: date | None = None) -> QuerySet[PointsTransaction]:
    """The member's own ledger, newest first, filtered by kind and by Shanghai dates (both inclusive)."""
    rows = PointsTransaction.objects.filter(account__user=user).select_related("rule")
    if kind:
        rows = rows.filter(kind=kind)
    if date_from:
        rows = rows.filter(created_at__gte=local_day_start(date_from))
    if date_to:
        rows = rows.filter(created_at__lt=local_day_start(date.fromordinal(date_to.toordinal() + 1)))
    return rows.order_by("-created_at", "-id")


def rewards_visible_to(user) -> QuerySet[Reward]:
    """Rewards a member may see: approved by compliance and in stock. Nothing for anybody else."""
    if not is_points_member(user):
        return Reward.objects.none()
    return Reward.objects.filter(status=Reward.Status.APPROVED, stock__gt=0).order_by("points_cost", "name", "id")


def reward_visible_to(user, reward_id: int) -> Reward | None:
    return rewards_visible_to(user).filter(pk=reward_id).first()


def redemptions_of(user) -> QuerySet[Redemption]:
    return Redemption.objects.filter(account__user=user).select_related("reward").order_by("-created_at", "-id")


def accounts_with_expired_credits(*, today: date) -> list[int]:
    """Accounts that hold a balance and earned points that expired before `today`: the expiry task's work list."""
    return list(
        PointsAccount.objects.filter(balance__gt=0, transactions__amount__gt=0, transactions__expires_on__lt=today)
        .values_list("pk", flat=True).distinct().order_by("pk")
    )
