"""Demo academic points for `manage.py seed_demo`: an approved rewards catalogue, a points history for every
demo doctor over the last six months, and a few redemptions.

Idempotent: rewards are keyed by name, a doctor's history by the `demo:<user id>:` prefix of its idempotency keys,
redemptions by a fixed client idempotency key (a repeat returns the first redemption). Past dates cannot go
through `points_award` (it stamps the current time and enforces today's caps), so the history rows are built
here with a consistent running balance, like seed_demo builds its other rows; redemptions use the real service.
"""

import random
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from engage.core.demo import demo_seeder
from engage.core.roles import Role
from members.accounts import demo as demo_data
from members.accounts.models import User
from members.accounts.selectors import AccessLevel, access_level_of
from members.engagement.models import EngagementEvent, EngagementKind
from members.points.models import PointsAccount, PointsRule, PointsTransaction, Redemption, Reward
from members.points.selectors import local_today
from members.points.services import expiry_date, reward_approve, reward_create, reward_redeem

_SEED = 20260303
HISTORY_DAYS = 180
REDEEMING_DOCTORS = 3
# (name, kind, value RMB, points, stock, description)
REWARDS = [
    ("《新英格兰医学杂志》单篇全文", Reward.Kind.LITERATURE, "35.00", 120, 200,
     "任选一篇 NEJM 论文的全文 PDF，兑换后由学术支持团队发送至您的邮箱。"),
    ("UpToDate 临床顾问 30 天使用权", Reward.Kind.COURSE, "150.00", 500, 50,
     "循证临床决策支持工具，30 天个人使用权。"),
    ("《中华内分泌代谢杂志》年度订阅", Reward.Kind.JOURNAL, "240.00", 800, 30,
     "纸质版全年 12 期，邮寄至您所在医院。"),
    ("中国糖尿病年会注册费", Reward.Kind.CONFERENCE, "600.00", 2000, 10,
     "年会正式代表注册一名（不含差旅与住宿）。"),
    ("循证医学网络课程（8 课时）", Reward.Kind.COURSE, "90.00", 300, 100,
     "系统综述与 Meta 分析入门，在线学习，结业可获证书。"),
]


# rule code -> (weight, source type)
ACTIVITIES = {
    "read_article": (6, "cms.articlepage"),
    "survey_answer": (2, "events.survey"),
    "live_watch": (2, "events.livesession"),
    "attend_meeting": (1, "events.meeting"),
}


def _staff(role: str) -> User | None:
    username = next((spec.username for spec in demo_data.STAFF if spec.role == role), None)
    return User.objects.filter(username=username).first()


def _rewards() -> int:
    marketing, compliance = _staff(Role.MARKETING), _staff(Role.COMPLIANCE)
    if marketing is None or compliance is None:
        return 0
    existing = set(Reward.objects.filter(name__in=[r[0] for r in REWARDS]).values_list("name", flat=True))
    created = 0
    for name, kind, value, cost, stock, description in REWARDS:
        if name in existing:
            continue
        reward = reward_create(actor=marketing, name=name, kind=kind, value_rmb=Decimal(value), points_cost=cost,
                               stock=stock, description=description)
        reward_approve(reward=reward, actor=compliance, reason="demo catalogue")
        created += 1
    return created


def _history(doctors: list[User]) -> int:
    rules = {rule.code: rule for rule in PointsRule.objects.filter(code__in=[*ACTIVITIES, "profile_verified"])}
    if not rules:
        return 0
    done = {
        int(key.split(":")[1])
        for key in PointsTransaction.objects.filter(idempotency_key__startswith="demo:")
        .values_list("idempotency_key", flat=True)
        .distinct()
    }
    now = timezone.now()
    codes = [code for code in ACTIVITIES if code in rules]
    weights = [ACTIVITIES[code][0] for code in codes]
    rows, events = [], []
    for number, user in enumerate(doctors, start=1):
        if user.pk in done:
            continue
        rng = random.Random(_SEED + number)
        account, _ = PointsAccount.objects.get_or_create(user=user)
        balance = account.balance
        when = now - timedelta(days=HISTORY_DAYS - rng.randint(0, 20))
        plan = []
        if "profile_verified" in rules:
            plan.append((rules["profile_verified"], "members.doctorprofile", when))
        for _ in range(rng.randint(6, 18)):
            when += timedelta(days=rng.randint(1, 12), minutes=rng.randint(0, 600))
            if when >= now:
                break
            code = rng.choices(codes, weights)[0]
            plan.append((rules[code], ACTIVITIES[code][1], when))
        for n, (rule, source_type, at) in enumerate(plan):
            balance += rule.points
            key = f"demo:{user.pk}:{n}"
            rows.append(PointsTransaction(
                account=account, amount=rule.points, kind=PointsTransaction.Kind.EARN, rule=rule,
                source_type=source_type, source_id=f"demo-{n}", source_repr=f"{rule.name}（演示）",
                idempotency_key=key, balance_after=balance, expires_on=expiry_date(local_today(at)), created_at=at,
            ))
            events.append(EngagementEvent(
                doctor=user, kind=EngagementKind.POINTS_EARNED, object_type="members.pointstransaction",
                object_repr=f"{rule.name} +{rule.points}", occurred_at=at, source_key=f"points:{key}",
                metadata={"rule": rule.code, "points": rule.points, "demo": True},
            ))
        account.balance = balance
        account.save(update_fields=["balance", "updated_at"])
    created = PointsTransaction.objects.bulk_create(rows)  # backdated at INSERT: the ledger is never updated
    EngagementEvent.objects.bulk_create(events, ignore_conflicts=True)
    return len(created)


def _redemptions(doctors: list[User]) -> int:
    """A couple of redemptions by verified demo doctors with enough points, through the real service."""
    rewards = list(Reward.objects.filter(name__in=[r[0] for r in REWARDS], status=Reward.Status.APPROVED,
                                         stock__gt=0).order_by("points_cost"))
    if not rewards:
        return 0
    created = 0
    redeemers = 0
    for user in doctors:
        if redeemers >= REDEEMING_DOCTORS:
            break
        if Redemption.objects.filter(account__user=user).exists():  # seeded before
            redeemers += 1
            continue
        if access_level_of(user) < AccessLevel.VERIFIED:
            continue
        balance = PointsAccount.objects.filter(user=user).values_list("balance", flat=True).first() or 0
        reward = next((r for r in rewards if r.points_cost <= balance), None)
        if reward is None:
            continue
        result = reward_redeem(member=user, reward_id=reward.pk, idempotency_key=f"demo-redemption-{user.pk}")
        created += not result.replayed
        redeemers += 1
    return created


@transaction.atomic
@demo_seeder(order=80)
def seed_demo_points() -> dict[str, int]:
    """Creates what is missing of the demo points data; returns counts of what it created."""
    usernames = [spec.username for spec in demo_data.doctor_specs()]
    doctors = list(User.objects.filter(username__in=usernames).order_by("username"))
    return {
        "rewards": _rewards(),
        "points transactions": _history(doctors),
        "redemptions": _redemptions(doctors),
    }
