"""Writes for academic points: awards, redemptions, expiry, adjustments and the rewards catalogue.

Every balance change locks the doctor's `PointsAccount` row (`select_for_update`, or the UPDATE of the one-statement
award) and appends one `PointsTransaction` whose `balance_after` is the locked balance plus the amount, so the
ledger, the cached balance and `balance_after` always agree.
Lock order, wherever two rows are locked: account, then reward.
"""

import hashlib
import json
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F, Q, Subquery, Sum
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from engage.audit.models import AuditEntry
from engage.audit.services import audit_entry, audit_log
from engage.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from engage.core.inserts import insert_once
from engage.core.prepared import Prepared, planned_cursor
from engage.core.roles import Capability, can
from engage.inbox.services import notify_user
from members.accounts.models import User
from members.accounts.selectors import AccessLevel, access_level_of
from members.consents.delivery import doctor_notify
from members.engagement.models import EngagementEvent, EngagementKind
from members.engagement.services import engagement_record
from members.points.models import PointsAccount, PointsRule, PointsSettings, PointsTransaction, Redemption, Reward
from members.points.selectors import (
    accounts_with_expired_credits,
    is_points_member,
    local_day_start,
    local_today,
)
from members.profiles.models import DoctorProfile

MAX_ADJUSTMENT = 100_000  # one manual adjustment moves at most this many points either way
MAX_REASON = 1000
MAX_CLIENT_KEY = 100
Kind = PointsTransaction.Kind


def expiry_date(earned_on: date, settings: PointsSettings | None = None) -> date:
    """Points earned on `earned_on` may be used until the end of the calendar year `expiry_years` later."""
    years = (settings or PointsSettings.load()).expiry_years
    return date(earned_on.year + years, 12, 31)


def _short_key(key: str) -> str:
    """Keys longer than the column are replaced by a digest: still unique, still deterministic."""
    if len(key) <= 200:
        return key
    return key[:120] + ":sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _source_parts(source) -> tuple[str, str, str]:
    """(type, id, repr) of a model instance or a (type, id) pair."""
    if isinstance(source, models.Model):
        if source.pk is None:
            raise DomainError("invalid_source", _("The source of an award must be saved first."))
        return source._meta.label_lower, str(source.pk), str(source)[:300]
    if isinstance(source, tuple | list) and len(source) == 2:
        source_type, source_id = (str(part).strip() for part in source)
        if source_type and source_id and len(source_type) <= 100 and len(source_id) <= 64:
            return source_type, source_id, f"{source_type}#{source_id}"
    raise DomainError("invalid_source", _("The source of an award is a saved object or a (type, id) pair."))


def account_for(user: User) -> PointsAccount:
    """The member's account, created on first use (concurrent first uses create one row)."""
    account = PointsAccount.objects.filter(user=user).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return PointsAccount.objects.create(user=user)
    except IntegrityError:
        return PointsAccount.objects.get(user=user)


def _locked_account(user: User) -> PointsAccount:
    """The member's account row, locked until the caller's transaction ends (created on first use)."""
    account = PointsAccount.objects.select_for_update().filter(user=user).first()
    if account is None:
        account = PointsAccount.objects.select_for_update().get(pk=account_for(user).pk)
    return account


def _append(account: PointsAccount, *, amount: int, kind: str, key: str, **fields) -> PointsTransaction:
    """Appends one ledger row to a LOCKED account and moves its balance; both or neither (the caller's
    transaction). The unique key makes a duplicate raise IntegrityError, which aborts the caller's transaction."""
    row = PointsTransaction.objects.create(
        account=account, amount=amount, kind=kind, idempotency_key=key,
        balance_after=account.balance + amount, **fields,
    )
    account.balance += amount
    PointsAccount.objects.filter(pk=account.pk).update(balance=account.balance, updated_at=timezone.now())
    return row


@dataclass(frozen=True)
class AwardResult:
    """What `points_award` did: `points` > 0 with the ledger row, or 0 with the `reason` nothing was paid.

    `reason` is "" when the full amount was paid, "daily_cap" / "yearly_cap" also when a partial amount
    filled the cap exactly (`capped` is then True), or one of "duplicate", "rule_inactive", "not_a_member".
    """

    points: int
    transaction: PointsTransaction | None
    reason: str = ""
    capped: bool = False

    @property
    def awarded(self) -> bool:
        return self.points > 0


def _rule_active(rule: PointsRule, today: date) -> bool:
    if not rule.enabled:
        return False
    if rule.active_from and today < rule.active_from:
        return False
    return not (rule.active_until and today > rule.active_until)


# The settings' expiry rides along with the rule: one round trip for both, compiled once (engage.core.prepared).
_rule_by_code = Prepared(PointsRule, lambda code: PointsRule.objects.filter(code=code).annotate(
    settings_expiry_years=Subquery(PointsSettings.objects.filter(pk=1).values("expiry_years")[:1]),  # load()'s row
).order_by("pk")[:1], code=str)


def points_award(
    *,
    member: User,
    rule_code: str | None = None,
    rule: PointsRule | None = None,
    source,
    idempotency_key: str | None = None,
    actor: User | None = None,
    source_label: str = "",
) -> AwardResult:
    """Credits `member` with the points of `rule` for `source`, at most once per idempotency key.

    The ledger shows `source_label` as the source (default: str(source)). The ledger is append-only and outlives
    a closed account, so a source whose str() names a person (a profile, a registration) passes a label.

    The key defaults to rule + source + member, so the same source never pays twice, however often or
    concurrently this is called. Caps are per rule per member per Shanghai day and calendar year; an award that
    would cross a cap pays the remainder up to the cap (the doctor reaches the cap exactly, as the published
    rule says) and says so with `capped`; once the cap is reached nothing is paid and `reason` names the cap.
    A refused award writes nothing, so the same source may pay later (e.g. the next day, under a new cap).
    """
    if rule is None:
        if not rule_code:
            raise DomainError("unknown_rule", _("Name a points rule."))
        rule_code = str(rule_code)
        # The rule as this process last read it: the one statement pays only if the database still holds it so
        # (its guard), which saves reading the rule before every award. Otherwise it is read again below.
        seen = _rules_seen.get(rule_code)
        if seen is not None and (paid := _award(member=member, rule=seen, source=source, source_label=source_label,
                                                idempotency_key=idempotency_key, actor=actor, at_once_only=True)):
            return paid
        rule = _rule_by_code.first(code=rule_code)
        if rule is None:
            raise NotFound("unknown_rule", _("There is no points rule %(code)s.") % {"code": rule_code})
        _rules_seen[rule_code] = rule
        if seen is not None and _rule_facts(seen) == _rule_facts(rule):
            # The same rule was just tried in one statement: that found no account or a paid key.
            return _award(member=member, rule=rule, source=source, source_label=source_label,
                          idempotency_key=idempotency_key, actor=actor, at_once=False)
    return _award(member=member, rule=rule, source=source, source_label=source_label,
                  idempotency_key=idempotency_key, actor=actor)


_rules_seen: dict[str, PointsRule] = {}


def _rule_facts(rule: PointsRule) -> tuple:
    """What an award takes from a rule and its settings (what the one statement's guard compares)."""
    return (rule.pk, rule.code, rule.points, rule.daily_cap, rule.yearly_cap, rule.enabled, rule.active_from,
            rule.active_until, getattr(rule, "settings_expiry_years", None))


def _award(*, member, rule, source, source_label, idempotency_key, actor, at_once: bool = True,
           at_once_only: bool = False) -> AwardResult | None:
    """`points_award` once its rule is known. `at_once_only`: only the one statement is tried, and None says it
    did not pay (the caller reads the rule and tries everything)."""
    source_type, source_id, source_repr = _source_parts(source)
    source_repr = source_label[:300] or source_repr
    if not is_points_member(member):
        return None if at_once_only else AwardResult(0, None, "not_a_member")
    now = timezone.now()
    today = local_today(now)
    if not _rule_active(rule, today):
        return None if at_once_only else AwardResult(0, None, "rule_inactive")
    key = _short_key(idempotency_key or _award_key(rule.code, source_type, source_id, member))
    if at_once:
        try:
            if paid := _award_at_once(member=member, rule=rule, key=key, today=today, actor=actor,
                                      source=(source_type, source_id, source_repr)):
                return paid
        except IntegrityError:
            if PointsTransaction.objects.filter(idempotency_key=key).exists():  # paid by a concurrent award
                return AwardResult(0, None, "duplicate")
            raise
    if at_once_only:
        return None
    if PointsTransaction.objects.filter(idempotency_key=key).exists():  # the common repeat, without a lock
        return AwardResult(0, None, "duplicate")
    try:
        return _award_locked(member=member, rule=rule, key=key, source=(source_type, source_id, source_repr),
                             today=today, actor=actor)
    except _PaidMeanwhile:
        return AwardResult(0, None, "duplicate")
    except IntegrityError:
        # Only a caller-chosen key shared across members reaches here; same-member repeats wait on the lock.
        return AwardResult(0, None, "duplicate")


def _award_statement() -> str:
    account, ledger = PointsAccount._meta.db_table, PointsTransaction._meta.db_table
    engagement, audit = EngagementEvent._meta.db_table, AuditEntry._meta.db_table
    rule, settings = PointsRule._meta.db_table, PointsSettings._meta.db_table
    # Table names from the models; every value a parameter.
    return f"""WITH account AS (
    UPDATE "{account}" SET "balance" = "balance" + %(amount)s, "updated_at" = clock_timestamp()
    WHERE "user_id" = %(member)s AND NOT EXISTS (SELECT 1 FROM "{ledger}" WHERE "idempotency_key" = %(key)s)
      -- the rule (and the expiry setting) as the award was computed from: else nothing is paid here
      AND EXISTS (SELECT 1 FROM "{rule}" WHERE "id" = %(rule)s AND "code" = %(code)s AND "points" = %(amount)s
                  AND "enabled" AND "daily_cap" IS NULL AND "yearly_cap" IS NULL
                  AND ("active_from" IS NULL OR "active_from" <= %(today)s)
                  AND ("active_until" IS NULL OR "active_until" >= %(today)s))
      AND (SELECT "expiry_years" FROM "{settings}" WHERE "id" = 1) IS NOT DISTINCT FROM %(years)s
    RETURNING "id", "balance", "updated_at", nextval(pg_get_serial_sequence('"{ledger}"', 'id')) AS "ledger"
), ledger AS (
    INSERT INTO "{ledger}" ("id", "account_id", "amount", "kind", "rule_id", "source_type", "source_id",
                            "source_repr", "idempotency_key", "balance_after", "expires_on", "actor_id", "reason",
                            "created_at")
    SELECT "ledger", "id", %(amount)s, %(kind)s, %(rule)s, %(source_type)s, %(source_id)s, %(source_repr)s, %(key)s,
           "balance", %(expires_on)s, %(actor)s, '', "updated_at" FROM account
), engagement AS (
    INSERT INTO "{engagement}" ("doctor_id", "kind", "object_type", "object_id", "object_repr", "therapy_area_id",
                                "occurred_at", "metadata", "source_key")
    SELECT %(member)s, %(engagement_kind)s, %(label_type)s, "ledger"::text, %(label)s, NULL, %(now)s,
           %(metadata)s::jsonb, %(engagement_key)s FROM account
), audit AS (
    INSERT INTO "{audit}" ("created_at", "actor_id", "actor_label", "action", "object_type", "object_id",
                           "object_repr", "before", "after", "reason", "ip_address", "user_agent")
    SELECT %(now)s, %(actor_id)s, %(actor_label)s, %(action)s, %(label_type)s, "ledger"::text, %(label)s, NULL,
           jsonb_set(%(after)s::jsonb, '{{balance}}', to_jsonb("balance")), '', %(ip)s, %(user_agent)s FROM account
)
SELECT "id", "balance", "updated_at", "ledger" FROM account"""  # noqa: S608


_AWARD_STATEMENT: list[str] = []  # built on first use, once the models are loaded


def _award_at_once(*, member, rule, key, source, today, actor) -> AwardResult | None:
    """The common award in ONE statement and one round trip (PostgreSQL, a rule without caps): the account's
    balance moves (the UPDATE locks its row until the statement ends), the ledger row takes the moved balance as
    `balance_after`, the lock's time as its time and a key drawn under the lock, and the engagement event and the
    audit entry name it; all or none. The same rows `_award_locked` writes. None when the UPDATE found nothing to
    do (no account yet, the key paid before): the general path then decides and says why. A key paid by a
    concurrent award raises IntegrityError (the ledger's unique key), undoing the whole statement."""
    if connection.vendor != "postgresql" or rule.daily_cap is not None or rule.yearly_cap is not None:
        return None
    years = getattr(rule, "settings_expiry_years", None)
    if years is None:  # a rule the caller read: the setting is read here (the guard compares it)
        years = PointsSettings.load().expiry_years
    expires_on = expiry_date(today, PointsSettings(expiry_years=years))
    source_type, source_id, source_repr = source
    amount, now = rule.points, timezone.now()
    row = PointsTransaction(
        account=PointsAccount(user=member), amount=amount, kind=Kind.EARN, idempotency_key=key, rule=rule,
        source_type=source_type, source_id=source_id, source_repr=source_repr, expires_on=expires_on, actor=actor,
    )
    entry = audit_entry(actor=actor, action="points.award")  # who and from where, as every audit entry says it
    label = str(row)[:300]
    values = {
        "amount": amount, "member": member.pk, "key": key, "kind": Kind.EARN, "rule": rule.pk, "code": rule.code,
        "today": today, "years": years,
        "source_type": source_type, "source_id": source_id, "source_repr": source_repr, "expires_on": expires_on,
        "actor": actor.pk if actor is not None else None, "now": now, "label": label,
        "label_type": PointsTransaction._meta.label_lower, "engagement_kind": EngagementKind.POINTS_EARNED.value,
        "engagement_key": f"points:{key}"[:200],
        "metadata": json.dumps({"rule": rule.code, "points": amount, "source_type": source_type,
                                "source_id": source_id}, cls=DjangoJSONEncoder),
        "actor_id": entry.actor_id, "actor_label": entry.actor_label, "action": entry.action, "ip": entry.ip_address,
        "user_agent": entry.user_agent,
        "after": json.dumps({"rule": rule.code, "points": amount, "balance": None, "source": source_repr,
                             "capped": False}, cls=DjangoJSONEncoder),
    }
    if not _AWARD_STATEMENT:
        _AWARD_STATEMENT.append(_award_statement())
    # Inside a transaction a refused statement would abort it: a savepoint keeps the caller's transaction usable.
    with transaction.atomic() if connection.in_atomic_block else nullcontext(), planned_cursor(connection) as cursor:
        cursor.execute(_AWARD_STATEMENT[0], values)
        found = cursor.fetchone()
    if found is None:
        return None
    account_id, balance, at, ledger_id = found
    row.pk, row.balance_after, row.created_at = ledger_id, balance, at
    row.account = PointsAccount(pk=account_id, user=member, balance=balance, updated_at=at)
    row._state.adding, row._state.db = False, connection.alias
    return AwardResult(amount, row, "")


def _award_key(rule_code: str, source_type: str, source_id: str, member: User) -> str:
    return f"earn:{rule_code}:{source_type}:{source_id}:{member.pk}"


class _PaidMeanwhile(Exception):
    """The key was paid while this award waited for the account: its transaction is rolled back."""


def _credited_account(member: User, amount: int) -> PointsAccount:
    """Locks the member's account by moving its balance `amount` in one UPDATE … RETURNING (created on first use);
    the caller's transaction keeps the lock and rolls the move back on a refusal."""
    table = PointsAccount._meta.db_table
    for _attempt in range(2):
        with connection.cursor() as cursor:
            cursor.execute(f'UPDATE "{table}" SET "balance" = "balance" + %s, "updated_at" = %s '  # noqa: S608
                           f'WHERE "user_id" = %s RETURNING "id", "balance"', [amount, timezone.now(), member.pk])
            found = cursor.fetchone()
        if found is not None:
            return PointsAccount(pk=found[0], user=member, balance=found[1])
        account_for(member)
    raise PointsAccount.DoesNotExist(f"no points account for user {member.pk}")


def _capped_amount(account: PointsAccount, rule: PointsRule, today: date) -> tuple[int, str]:
    """What the rule pays the LOCKED account today under its caps, and the cap that cut it ("" if none)."""
    year_start = local_day_start(date(today.year, 1, 1))
    day_start = local_day_start(today)
    # A reversed award (its reversal carries the rule) gives its room under the caps back.
    earned = PointsTransaction.objects.filter(
        account=account, rule=rule, kind__in=[Kind.EARN, Kind.ADJUST], created_at__gte=year_start,
        created_at__lt=local_day_start(date(today.year + 1, 1, 1)),
    ).aggregate(year=Sum("amount"), day=Sum("amount", filter=Q(created_at__gte=day_start,
                                                                  created_at__lt=day_start + timedelta(days=1))))
    amount, reason = rule.points, ""
    for cap, used, cap_reason in ((rule.daily_cap, earned["day"] or 0, "daily_cap"),
                                  (rule.yearly_cap, earned["year"] or 0, "yearly_cap")):
        if cap is not None and used + amount > cap:
            amount, reason = max(cap - used, 0), cap_reason
    return amount, reason


@transaction.atomic
def _award_locked(*, member, rule, key, source, today, actor) -> AwardResult:
    years = getattr(rule, "settings_expiry_years", None)
    expires_on = expiry_date(today, PointsSettings(expiry_years=years) if years is not None else None)
    capped = rule.daily_cap is not None or rule.yearly_cap is not None
    if not capped:
        # No cap to read first: locking the account and moving its balance is one statement.
        amount, reason = rule.points, ""
        account = _credited_account(member, amount)
        balance_after = account.balance
    else:
        account = _locked_account(member)
        amount, reason = _capped_amount(account, rule, today)
        if amount <= 0:
            return AwardResult(0, None, reason or "rule_inactive")
        balance_after = account.balance + amount
    account.user = member  # the ledger row's str() names the member: no query for it
    source_type, source_id, source_repr = source
    row = PointsTransaction(
        account=account, amount=amount, kind=Kind.EARN, idempotency_key=key, balance_after=balance_after,
        rule=rule, source_type=source_type, source_id=source_id, source_repr=source_repr, expires_on=expires_on,
        actor=actor,
    )
    # The unique key under the account lock: a key paid while we waited inserts nothing and undoes the move.
    if not insert_once(row, key="idempotency_key"):
        raise _PaidMeanwhile
    if capped:
        account.balance = balance_after
        PointsAccount.objects.filter(pk=account.pk).update(balance=balance_after, updated_at=timezone.now())

    engagement_record(
        doctor=member, kind=EngagementKind.POINTS_EARNED, source_key=f"points:{key}"[:200], obj=row,
        metadata={"rule": rule.code, "points": amount, "source_type": source_type, "source_id": source_id},
    )
    audit_log(actor=actor, action="points.award", obj=row,
              after={"rule": rule.code, "points": amount, "balance": account.balance, "source": source_repr,
                     "capped": bool(reason)})
    return AwardResult(amount, row, reason, capped=bool(reason))


@transaction.atomic
def points_award_reverse(*, member: User, rule_code: str, source, reason: str,
                         actor: User | None = None) -> PointsTransaction | None:
    """Takes back what `points_award` paid `member` under `rule_code` for `source` (default key) with one new,
    negative `adjust` row carrying the rule and the source; the award itself stays in the ledger. At most once
    per award, whatever the concurrency (the reversal's unique key is derived from the award's). Never takes the
    balance below zero: points already spent are not taken back (the audit entry records the shortfall).
    Returns the reversing row, or None when nothing was paid, it was reversed already, or nothing is left."""
    source_type, source_id, _ = _source_parts(source)
    award_key = _short_key(_award_key(rule_code, source_type, source_id, member))
    key = _short_key(f"reverse:{award_key}")
    award = PointsTransaction.objects.filter(idempotency_key=award_key, kind=Kind.EARN).first()
    if award is None:
        return None
    source_repr = award.source_repr  # the award's label, never a name (the ledger outlives account closing)
    account = _locked_account(member)
    if PointsTransaction.objects.filter(idempotency_key=key).exists():
        return None
    amount = min(award.amount, account.balance)
    reason = (reason or "").strip()[:MAX_REASON]
    audit = {"award": award.pk, "points": -amount, "shortfall": award.amount - amount, "source": source_repr}
    row = None
    if amount > 0:
        row = _append(account, amount=-amount, kind=Kind.ADJUST, key=key, rule=award.rule, source_type=source_type,
                      source_id=source_id, source_repr=source_repr, actor=actor, reason=reason)
    audit_log(actor=actor, action="points.award_reverse", obj=row or award,
              before={"balance": account.balance + amount}, after={**audit, "balance": account.balance}, reason=reason)
    return row


@dataclass(frozen=True)
class RedeemResult:
    redemption: Redemption
    replayed: bool = False  # True when the idempotency key had already redeemed: nothing new happened


def yearly_value_redeemed(account: PointsAccount, year: int) -> Decimal:
    """RMB value the account redeemed in the Shanghai calendar year `year`."""
    total = Redemption.objects.filter(
        account=account, created_at__gte=local_day_start(date(year, 1, 1)),
        created_at__lt=local_day_start(date(year + 1, 1, 1)),
    ).aggregate(total=Sum("value_rmb"))["total"]
    return total or Decimal("0")


def _clean_client_key(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if len(value) > MAX_CLIENT_KEY or not value.isprintable():
        raise DomainError("invalid_idempotency_key",
                          _("The idempotency key must be 1 to %(n)d printable characters.") % {"n": MAX_CLIENT_KEY})
    return value


@transaction.atomic
def reward_redeem(*, member: User, reward_id: int, idempotency_key: str | None = None) -> RedeemResult:
    """Redeems one unit of an approved reward for a verified doctor, or raises with nothing changed.

    Concurrency-safe: the account row, then the reward row, are locked; stock drops through a conditional
    update backed by the stock >= 0 constraint, the balance through the locked account (balance >= 0 constraint).
    Each redemption is a transfer-of-value record (name, licence, hospital as they are now). The same client
    `idempotency_key` (a double click, a retried request) returns the first redemption instead of a second.
    Errors: not_verified, reward_not_available, out_of_stock, insufficient_points, yearly_value_cap,
    idempotency_key_reused.
    """
    client_key = _clean_client_key(idempotency_key)
    if access_level_of(member) < AccessLevel.VERIFIED:
        raise PermissionDenied("not_verified", _("Only verified doctors can redeem points. Complete verification "
                                                 "first."))
    account = _locked_account(member)
    key = _short_key(f"redeem:{member.pk}:{client_key or uuid.uuid4().hex}")
    previous = Redemption.objects.filter(transaction__idempotency_key=key).select_related("reward").first()
    if previous is not None:
        if previous.reward_id != reward_id:
            raise Conflict("idempotency_key_reused",
                           _("This idempotency key was already used for another reward."))
        return RedeemResult(previous, replayed=True)
    reward = Reward.objects.select_for_update().filter(pk=reward_id).first()
    if reward is None or reward.status != Reward.Status.APPROVED:
        raise NotFound("reward_not_available", _("This reward is not available."))
    if reward.stock < 1:
        raise Conflict("out_of_stock", _("This reward is out of stock."))
    if account.balance < reward.points_cost:
        raise DomainError("insufficient_points", _("You need %(cost)d points; your balance is %(balance)d.")
                          % {"cost": reward.points_cost, "balance": account.balance},
                          balance=account.balance, cost=reward.points_cost)
    settings = PointsSettings.load()
    year = local_today().year
    used = yearly_value_redeemed(account, year)
    if used + reward.value_rmb > settings.yearly_value_cap_rmb:
        raise DomainError(
            "yearly_value_cap",
            _("This redemption would exceed the yearly limit of %(cap)s RMB per doctor (used: %(used)s RMB).")
            % {"cap": settings.yearly_value_cap_rmb, "used": used},
            cap_rmb=str(settings.yearly_value_cap_rmb), used_rmb=str(used),
        )
    # The row lock already serialises redeemers; the condition and the constraint hold even without it.
    if not Reward.objects.filter(pk=reward.pk, stock__gte=1).update(stock=F("stock") - 1):
        raise Conflict("out_of_stock", _("This reward is out of stock."))
    profile = DoctorProfile.objects.select_related("hospital").get(user=member)
    row = _append(account, amount=-reward.points_cost, kind=Kind.REDEEM, key=key,
                  source_type=reward._meta.label_lower, source_id=str(reward.pk), source_repr=str(reward)[:300],
                  actor=member)
    redemption = Redemption.objects.create(
        account=account, reward=reward, transaction=row, points=reward.points_cost, value_rmb=reward.value_rmb,
        doctor_name=profile.real_name, licence_number=profile.licence_number,
        hospital_name=profile.hospital.name if profile.hospital_id else "",
    )

    engagement_record(doctor=member, kind=EngagementKind.POINTS_REDEEMED, source_key=f"redemption:{redemption.pk}",
                      obj=redemption, metadata={"reward": reward.pk, "points": reward.points_cost,
                                                "value_rmb": str(reward.value_rmb)})
    audit_log(actor=member, action="points.redeem", obj=redemption,
              after={"reward": reward.pk, "points": reward.points_cost, "value_rmb": str(reward.value_rmb),
                     "balance": account.balance, "stock": reward.stock - 1, "licence_number": profile.licence_number,
                     "hospital": redemption.hospital_name})
    notify_user(member, "points.redeemed", {"reward": reward.name, "points": reward.points_cost,
                                            "balance": account.balance})
    with translation.override(member.language or "zh-hans"):
        title = str(_("Redeemed: %(reward)s for %(points)d points.") % {"reward": reward.name,
                                                                       "points": reward.points_cost})
        body = str(_("Your balance is now %(balance)d points.") % {"balance": account.balance})
    doctor_notify(user=member, kind="points.redeemed", title=title, body=body, url=reverse("points_redemptions"),
                  key=f"redemption:{redemption.pk}")
    return RedeemResult(redemption)


def expiring_amount(account: PointsAccount, *, before: date) -> int:
    """Points of the account that expired before `before` and have not been used yet.

    FIFO by expiry date: every debit so far (redeem, expire, negative adjust) consumed the credits that expire
    first, so what is left of the credits expiring before `before` is their sum minus all debits, if positive.
    """
    sums = PointsTransaction.objects.filter(account=account).aggregate(
        expired=Sum("amount", filter=Q(amount__gt=0, expires_on__lt=before)),
        debits=Sum("amount", filter=Q(amount__lt=0)),
    )
    return max((sums["expired"] or 0) + (sums["debits"] or 0), 0)


@transaction.atomic
def points_expire_account(*, account_id: int, today: date | None = None) -> PointsTransaction | None:
    """Writes the account's `expire` transaction for `today` (Shanghai), if anything expired; at most one per
    account and day (idempotency key), so a task that runs twice expires nothing twice."""
    today = today or local_today()
    account = PointsAccount.objects.select_for_update().get(pk=account_id)
    key = f"expire:{account.pk}:{today.isoformat()}"
    if PointsTransaction.objects.filter(idempotency_key=key).exists():
        return None
    amount = min(expiring_amount(account, before=today), account.balance)
    if amount <= 0:
        return None
    row = _append(account, amount=-amount, kind=Kind.EXPIRE, key=key,
                  reason=f"Points that expired before {today.isoformat()}")
    audit_log(actor=None, action="points.expire", obj=row, after={"points": -amount, "balance": account.balance,
                                                                  "date": today.isoformat()})
    return row


def points_expire_due(*, today: date | None = None) -> int:
    """Expires what is due on every account (one transaction per account); returns the rows written."""
    today = today or local_today()
    written = 0
    for account_id in accounts_with_expired_credits(today=today):
        written += points_expire_account(account_id=account_id, today=today) is not None
    return written


@transaction.atomic
def points_adjust(*, account: PointsAccount, amount: int, reason: str, actor: User,
                  idempotency_key: str | None = None) -> PointsTransaction:
    """A manual correction by an administrator, with a reason, audited. Positive adjustments expire like
    earned points; negative ones consume the oldest points and may not take the balance below zero."""
    if not can(actor, Capability.ADJUST_POINTS):
        raise PermissionDenied("forbidden", _("Only administrators may adjust points."))
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0 or abs(amount) > MAX_ADJUSTMENT:
        raise DomainError("invalid_amount", _("The adjustment must be a whole number of points, not zero, at most "
                                              "%(max)d either way.") % {"max": MAX_ADJUSTMENT})
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise DomainError("reason_required", _("Give a reason of 1 to %(max)d characters.") % {"max": MAX_REASON})
    client_key = _clean_client_key(idempotency_key)
    account = PointsAccount.objects.select_for_update().get(pk=account.pk)
    key = _short_key(f"adjust:{account.pk}:{client_key or uuid.uuid4().hex}")
    previous = PointsTransaction.objects.filter(idempotency_key=key).first()
    if previous is not None:
        return previous
    if account.balance + amount < 0:
        raise DomainError("insufficient_points", _("The balance is %(balance)d; it cannot go below zero.")
                          % {"balance": account.balance})
    before = account.balance
    row = _append(account, amount=amount, kind=Kind.ADJUST, key=key, reason=reason, actor=actor,
                  expires_on=expiry_date(local_today()) if amount > 0 else None)
    audit_log(actor=actor, action="points.adjust", obj=row, before={"balance": before},
              after={"balance": account.balance, "amount": amount}, reason=reason)
    return row


@transaction.atomic
def points_settings_update(*, actor: User, yearly_value_cap_rmb: Decimal, expiry_years: int,
                           reason: str = "") -> PointsSettings:
    """Compliance (or admin) sets the yearly RMB cap per doctor and how long points stay valid; audited.
    A new expiry applies to points earned from now on; earned points keep the date they were given."""
    if not can(actor, Capability.MANAGE_POINTS_SETTINGS):
        raise PermissionDenied("forbidden", _("Only compliance may change the points settings."))
    cap = Decimal(yearly_value_cap_rmb)
    if not Decimal("0") <= cap <= Decimal("1000000"):
        raise DomainError("invalid_value", _("The yearly cap must be between 0 and 1,000,000 RMB."))
    if isinstance(expiry_years, bool) or not isinstance(expiry_years, int) or not 1 <= expiry_years <= 10:
        raise DomainError("invalid_expiry", _("Points must stay valid for 1 to 10 calendar years."))
    settings = PointsSettings.load()
    settings = PointsSettings.objects.select_for_update().get(pk=settings.pk)
    before = {"yearly_value_cap_rmb": str(settings.yearly_value_cap_rmb), "expiry_years": settings.expiry_years}
    settings.yearly_value_cap_rmb, settings.expiry_years = cap, expiry_years
    settings.save()
    audit_log(actor=actor, action="points_settings.update", obj=settings, before=before,
              after={"yearly_value_cap_rmb": str(cap), "expiry_years": expiry_years}, reason=reason)
    return settings


@transaction.atomic
def points_rule_save(*, rule: PointsRule, actor: User) -> PointsRule:
    """Creates or changes a points rule (marketing, admin); audited with the values before and after. A rule
    that has paid points keeps its code, so the ledger's idempotency keys stay meaningful."""
    if not can(actor, Capability.MANAGE_POINTS_RULES):
        raise PermissionDenied("forbidden", _("Only marketing staff may configure points rules."))
    fields = ("code", "name", "points", "daily_cap", "yearly_cap", "active_from", "active_until", "enabled")
    before = None
    if rule.pk:
        old = PointsRule.objects.select_for_update().get(pk=rule.pk)
        before = {f: str(getattr(old, f)) for f in fields}
        if old.code != rule.code and PointsTransaction.objects.filter(rule=old).exists():
            raise Conflict("rule_in_use", _("This rule has paid points; its code cannot change."))
    rule.full_clean()
    rule.save()
    audit_log(actor=actor, action="points_rule.save", obj=rule, before=before,
              after={f: str(getattr(rule, f)) for f in fields})
    return rule


REWARD_FIELDS = ("name", "kind", "description", "value_rmb", "points_cost", "stock")
_TERMS = ("name", "kind", "description", "value_rmb", "points_cost")  # what compliance approved


def _reward_snapshot(reward: Reward) -> dict:
    return {field: str(getattr(reward, field)) for field in (*REWARD_FIELDS, "status")}


def _check_reward_fields(values: dict) -> None:
    if values.get("kind") not in Reward.Kind.values:
        raise DomainError("invalid_reward_kind", _("Rewards must be educational: literature, course access, "
                                                   "journal subscription or conference registration."))
    name = (values.get("name") or "").strip()
    if not name or len(name) > 200:
        raise DomainError("invalid_name", _("A reward needs a name of 1 to 200 characters."))
    value = values.get("value_rmb")
    if value is None or Decimal(value) < 0 or Decimal(value) >= Decimal("100000000"):
        raise DomainError("invalid_value", _("The value in RMB must be zero or more."))
    if not isinstance(values.get("points_cost"), int) or values["points_cost"] <= 0:
        raise DomainError("invalid_points", _("The points cost must be a positive whole number."))
    if not isinstance(values.get("stock"), int) or values["stock"] < 0:
        raise DomainError("invalid_stock", _("The stock must be zero or more."))


def _require_catalogue_editor(actor) -> None:
    if not can(actor, Capability.EDIT_REWARDS):
        raise PermissionDenied("forbidden", _("Only marketing staff may edit the rewards catalogue."))


@transaction.atomic
def reward_create(*, actor: User, name: str, kind: str, value_rmb: Decimal, points_cost: int, stock: int,
                  description: str = "") -> Reward:
    """A new reward, as a draft: doctors see it only once compliance approved it."""
    _require_catalogue_editor(actor)
    values = {"name": (name or "").strip(), "kind": kind, "description": description or "",
              "value_rmb": Decimal(value_rmb), "points_cost": points_cost, "stock": stock}
    _check_reward_fields(values)
    reward = Reward.objects.create(status=Reward.Status.DRAFT, **values)
    audit_log(actor=actor, action="reward.create", obj=reward, after=_reward_snapshot(reward))
    return reward


@transaction.atomic
def reward_update(*, reward: Reward, actor: User, **changes) -> Reward:
    """Edits a reward. Changing what compliance approved (name, kind, description, value, cost) sends an
    approved reward back to draft for a new approval; a stock change alone does not."""
    _require_catalogue_editor(actor)
    unknown = set(changes) - set(REWARD_FIELDS)
    if unknown:
        raise DomainError("invalid_field", _("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    reward = Reward.objects.select_for_update().get(pk=reward.pk)
    if reward.status == Reward.Status.RETIRED:
        raise Conflict("reward_retired", _("A retired reward cannot be changed."))
    before = _reward_snapshot(reward)
    values = {field: getattr(reward, field) for field in REWARD_FIELDS} | changes
    values["name"] = (values["name"] or "").strip()
    _check_reward_fields(values)
    terms_changed = any(values[f] != getattr(reward, f) for f in _TERMS)
    for field, value in values.items():
        setattr(reward, field, value)
    if terms_changed and reward.status == Reward.Status.APPROVED:
        reward.status, reward.approved_by, reward.approved_at = Reward.Status.DRAFT, None, None
    reward.save()
    audit_log(actor=actor, action="reward.update", obj=reward, before=before, after=_reward_snapshot(reward))
    return reward


@transaction.atomic
def reward_approve(*, reward: Reward, actor: User, reason: str = "") -> Reward:
    """Compliance approves a draft reward; only then do doctors see it."""
    if not can(actor, Capability.APPROVE_REWARDS):
        raise PermissionDenied("forbidden", _("Only compliance may approve rewards."))
    reward = Reward.objects.select_for_update().get(pk=reward.pk)
    if reward.status != Reward.Status.DRAFT:
        raise Conflict("reward_not_draft", _("Only draft rewards can be approved."))
    if reward.kind not in Reward.Kind.values:
        raise DomainError("invalid_reward_kind", _("Only educational rewards can be approved."))
    before = _reward_snapshot(reward)
    reward.status, reward.approved_by, reward.approved_at = Reward.Status.APPROVED, actor, timezone.now()
    reward.save(update_fields=["status", "approved_by", "approved_at"])
    audit_log(actor=actor, action="reward.approve", obj=reward, before=before, after=_reward_snapshot(reward),
              reason=reason)
    return reward


@transaction.atomic
def reward_retire(*, reward: Reward, actor: User, reason: str = "") -> Reward:
    """Withdraws a reward from the catalogue for good; past redemptions stay on record."""
    if not can(actor, Capability.RETIRE_REWARDS):
        raise PermissionDenied("forbidden", _("You may not retire rewards."))
    reward = Reward.objects.select_for_update().get(pk=reward.pk)
    if reward.status == Reward.Status.RETIRED:
        raise Conflict("reward_retired", _("This reward is already retired."))
    before = _reward_snapshot(reward)
    reward.status = Reward.Status.RETIRED
    reward.save(update_fields=["status"])
    audit_log(actor=actor, action="reward.retire", obj=reward, before=before, after=_reward_snapshot(reward),
              reason=reason)
    return reward
