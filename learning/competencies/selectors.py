"""A rep's capability profile: per competency (product knowledge per product, compliance, disease knowledge,
skills) the share of points earned on graded exam answers, by the category each question was drawn for."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce

from cms.pages.models import Product
from learning.competencies.models import CompetencySnapshot
from learning.exams.models import AttemptQuestion, AttemptStatus
from learning.questions.models import CompetencyKind


@dataclass(frozen=True)
class CompetencyScore:
    kind: str
    product_id: int | None
    label: str
    percent: float
    answered: int


def _label(kind: str, product_name: str | None) -> str:
    base = str(CompetencyKind(kind).label) if kind in CompetencyKind.values else kind
    return f"{base} · {product_name}" if product_name else base


def capability_profile(*, user) -> list[CompetencyScore]:
    """One score per competency the rep has graded answers in (products split out), in a stable order."""
    rows = (AttemptQuestion.objects
            .filter(attempt__user=user, attempt__status=AttemptStatus.SUBMITTED, is_correct__isnull=False)
            .values("category__kind", "category__product")
            .annotate(answered=Count("pk"),
                      total=Coalesce(Sum("points"), Value(Decimal(0)), output_field=DecimalField()),
                      earned=Coalesce(Sum("points", filter=Q(is_correct=True)), Value(Decimal(0)),
                                      output_field=DecimalField())))
    names = dict(Product.objects.filter(pk__in=[r["category__product"] for r in rows if r["category__product"]])
                 .values_list("pk", "name"))
    order = {kind: i for i, kind in enumerate(CompetencyKind.values)}
    scores = [CompetencyScore(kind=r["category__kind"], product_id=r["category__product"],
                              label=_label(r["category__kind"], names.get(r["category__product"])),
                              percent=round(float(r["earned"] / r["total"] * 100), 1) if r["total"] else 0.0,
                              answered=r["answered"]) for r in rows]
    return sorted(scores, key=lambda s: (order.get(s.kind, 99), s.label))


def _period_start(day: date, per: str) -> date:
    if per == "week":
        return day - timedelta(days=day.weekday())
    if per == "month":
        return day.replace(day=1)
    return day


def capability_history(*, user, per: str = "day") -> list[dict]:
    """The snapshots, oldest first: [{date, label, percent}]; per "week" or "month" the last snapshot of each
    period and competency (the score the rep ended that week or month with), so a long history stays short."""
    rows = (CompetencySnapshot.objects.filter(user=user).order_by("taken_on", "kind", "product_id")
            .values_list("taken_on", "kind", "product_id", "percent"))
    last: dict[tuple, tuple] = {}  # insertion order: the first time a (period, competency) appears
    for taken_on, kind, product_id, percent in rows:
        last[(_period_start(taken_on, per), kind, product_id)] = (taken_on, percent)
    names = dict(Product.objects.filter(pk__in={key[2] for key in last if key[2]}).values_list("pk", "name"))
    points = [{"date": taken_on, "label": _label(kind, names.get(product_id)), "percent": float(percent)}
              for (_start, kind, product_id), (taken_on, percent) in last.items()]
    return sorted(points, key=lambda point: point["date"])
