"""Points API: the signed-in member's balance and ledger, the rewards catalogue, redemption."""

from datetime import date, datetime
from decimal import Decimal

from django.core.paginator import Paginator
from django.utils.translation import gettext_lazy as _
from ninja import Header, Query, Router, Schema, Status
from pydantic import Field

from engage.core.errors import DomainError, NotFound, PermissionDenied
from engage.core.schemas import InputSchema
from members.points import selectors, services
from members.points.models import PointsTransaction

points_router = Router(tags=["points"])
rewards_router = Router(tags=["points"])


def _require_member(user) -> None:
    if not services.is_points_member(user):
        raise PermissionDenied("not_a_member", _("Academic points are for doctor members."))


class TransactionOut(Schema):
    id: int
    amount: int
    kind: str
    rule: str | None
    source: str
    reason: str
    balance_after: int
    expires_on: date | None
    created_at: datetime


class PointsOut(Schema):
    balance: int
    expiring_points: int
    expiring_on: date
    count: int
    page: int
    page_size: int
    pages: int
    items: list[TransactionOut]


class PointsQuery(Schema):
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(20, ge=1, le=100)
    kind: PointsTransaction.Kind | None = None
    date_from: date | None = None
    date_to: date | None = None


def _transaction_out(row: PointsTransaction) -> dict:
    return {
        "id": row.pk, "amount": row.amount, "kind": row.kind, "rule": row.rule.code if row.rule_id else None,
        "source": row.source_repr, "reason": row.reason if row.kind == PointsTransaction.Kind.ADJUST else "",
        "balance_after": row.balance_after, "expires_on": row.expires_on, "created_at": row.created_at,
    }


@points_router.get("", response=PointsOut, summary=str(_("My points: balance and ledger, newest first")))
def my_points(request, filters: Query[PointsQuery]):
    _require_member(request.user)
    summary = selectors.points_summary(request.user)
    rows = selectors.points_history(request.user, kind=filters.kind, date_from=filters.date_from,
                                    date_to=filters.date_to)
    paginator = Paginator(rows, filters.page_size)
    items = paginator.page(filters.page).object_list if filters.page <= paginator.num_pages else []
    return {
        "balance": summary.balance, "expiring_points": summary.expiring_points, "expiring_on": summary.expiring_on,
        "count": paginator.count, "page": filters.page, "page_size": filters.page_size,
        "pages": paginator.num_pages if paginator.count else 0,
        "items": [_transaction_out(row) for row in items],
    }


class RewardOut(Schema):
    id: int
    name: str
    kind: str
    description: str
    value_rmb: Decimal
    points_cost: int
    stock: int


def _reward_out(reward) -> dict:
    return {"id": reward.pk, "name": reward.name, "kind": reward.kind, "description": reward.description,
            "value_rmb": reward.value_rmb, "points_cost": reward.points_cost, "stock": reward.stock}


@rewards_router.get("", response=list[RewardOut], summary=str(_("Rewards I can redeem: approved and in stock")))
def rewards(request):
    _require_member(request.user)
    return [_reward_out(reward) for reward in selectors.rewards_visible_to(request.user)[:200]]


@rewards_router.get("/{int:reward_id}", response=RewardOut, summary=str(_("One reward")))
def reward_detail(request, reward_id: int):
    _require_member(request.user)
    reward = selectors.reward_visible_to(request.user, reward_id)
    if reward is None:
        raise NotFound("reward_not_available", _("This reward is not available."))
    return _reward_out(reward)


class RedeemIn(InputSchema):
    idempotency_key: str | None = Field(default=None, max_length=100)


class RedemptionOut(Schema):
    id: int
    reward: RewardOut
    points: int
    value_rmb: Decimal
    balance: int
    created_at: datetime
    replayed: bool


@rewards_router.post(
    "/{int:reward_id}/redeem", response={200: RedemptionOut, 201: RedemptionOut},
    summary=str(_("Redeem a reward (verified doctors). Send an Idempotency-Key header to make retries safe")),
)
def redeem(request, reward_id: int, data: RedeemIn | None = None,
           idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=100)):
    body_key = data.idempotency_key if data else None
    if idempotency_key and body_key and idempotency_key != body_key:
        raise DomainError("idempotency_key_mismatch",
                          _("The Idempotency-Key header and the body's idempotency_key differ."))
    result = services.reward_redeem(member=request.user, reward_id=reward_id,
                                    idempotency_key=idempotency_key or body_key)
    redemption = result.redemption
    return Status(200 if result.replayed else 201, {
        "id": redemption.pk, "reward": _reward_out(redemption.reward), "points": redemption.points,
        "value_rmb": redemption.value_rmb, "balance": redemption.account.balance,
        "created_at": redemption.created_at, "replayed": result.replayed,
    })
