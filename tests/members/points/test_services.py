"""points_award: idempotent per source, capped per day and year, audited, recorded as engagement."""

import random
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engage.audit.models import AuditEntry
from engage.core.errors import DomainError
from members.engagement.models import EngagementEvent
from members.points import services
from members.points.models import PointsAccount, PointsSettings, PointsTransaction, Redemption, Reward
from members.points.selectors import (
    accounts_with_expired_credits,
    ledger_balance,
    local_today,
    points_summary,
    rewards_visible_to,
)
from members.points.services import AwardResult, account_for, expiring_amount, points_award
from members.points.tasks import points_expire
from tests.factories import HospitalFactory, assert_append_only, make_doctor, user_with_role
from tests.members.factories import approved_reward, assert_ledger_agrees, give_points, rule
from tests.race import race

pytestmark = pytest.mark.django_db


def test_award_pays_the_rule_once_per_source_and_records_everything():
    doctor = make_doctor()
    article = HospitalFactory()  # any saved object can be a source
    first = points_award(member=doctor, rule_code="read_article", source=article)
    assert isinstance(first, AwardResult)
    assert first.awarded and first.points == 5 and first.reason == "" and not first.capped
    row = first.transaction
    assert row.kind == "earn" and row.amount == 5 and row.balance_after == 5
    assert (row.source_type, row.source_id) == ("members.hospital", str(article.pk))
    assert PointsAccount.objects.get(user=doctor).balance == 5

    again = points_award(member=doctor, rule_code="read_article", source=article)
    assert (again.points, again.transaction, again.reason) == (0, None, "duplicate")
    assert PointsTransaction.objects.count() == 1

    event = EngagementEvent.objects.get(doctor=doctor, kind="points_earned")
    assert event.metadata["points"] == 5 and event.metadata["rule"] == "read_article"
    audit = AuditEntry.objects.get(action="points.award")
    assert audit.after["points"] == 5 and audit.object_id == str(row.pk)
    assert_ledger_agrees(doctor)


def test_type_id_source_and_explicit_key():
    doctor = make_doctor()
    assert points_award(member=doctor, rule_code="survey_answer", source=("events.survey", 7)).points == 20
    assert points_award(member=doctor, rule_code="survey_answer", source=("events.survey", "7")).reason == "duplicate"
    # An explicit key wins over the derived one.
    assert points_award(member=doctor, rule_code="survey_answer", source=("events.survey", 8),
                        idempotency_key="k-1").points == 20
    assert points_award(member=doctor, rule_code="survey_answer", source=("events.survey", 9),
                        idempotency_key="k-1").reason == "duplicate"
    # The same source under two different rules pays both rules.
    assert points_award(member=doctor, rule_code="live_watch", source=("events.survey", 7)).points == 30


def test_another_doctor_is_paid_for_the_same_source():
    a, b = make_doctor(), make_doctor()
    assert points_award(member=a, rule_code="read_article", source=("cms.article", 1)).points == 5
    assert points_award(member=b, rule_code="read_article", source=("cms.article", 1)).points == 5


@pytest.mark.parametrize("source", [None, ("", "1"), ("cms.article", ""), ("a",), "cms.article:1",
                                    ("x" * 101, "1"), ("cms.article", "9" * 65)])
def test_bad_sources_are_refused(source):
    doctor = make_doctor()
    with pytest.raises(DomainError) as exc:
        points_award(member=doctor, rule_code="read_article", source=source)
    assert exc.value.code == "invalid_source"
    assert not PointsTransaction.objects.exists()


def test_unknown_rule():
    with pytest.raises(DomainError) as exc:
        points_award(member=make_doctor(), rule_code="no_such_rule", source=("cms.article", 1))
    assert exc.value.code == "unknown_rule"


def test_not_a_member():
    for user in (user_with_role("rep"), user_with_role("marketing")):
        result = points_award(member=user, rule_code="read_article", source=("cms.article", 1))
        assert (result.points, result.reason) == (0, "not_a_member")
    inactive = make_doctor()
    inactive.is_active = False
    inactive.save()
    assert points_award(member=inactive, rule_code="read_article", source=("cms.article", 1)).reason == "not_a_member"
    assert not PointsTransaction.objects.exists()


def test_unverified_doctors_earn_points():
    doctor = make_doctor(verified=False)
    assert points_award(member=doctor, rule_code="read_article", source=("cms.article", 1)).points == 5


@time_machine.travel("2026-06-15 10:00 +0800", tick=False)
def test_inactive_rules_pay_nothing():
    doctor = make_doctor()
    rule("read_article", enabled=False)
    assert points_award(member=doctor, rule_code="read_article", source=("a", 1)).reason == "rule_inactive"
    rule("read_article", enabled=True, active_from=date(2026, 7, 1))
    assert points_award(member=doctor, rule_code="read_article", source=("a", 1)).reason == "rule_inactive"
    rule("read_article", active_from=date(2026, 1, 1), active_until=date(2026, 6, 14))
    assert points_award(member=doctor, rule_code="read_article", source=("a", 1)).reason == "rule_inactive"
    rule("read_article", active_until=date(2026, 6, 15))  # the last day is included
    assert points_award(member=doctor, rule_code="read_article", source=("a", 1)).points == 5
    assert not PointsTransaction.objects.filter(amount__lte=0).exists()


def test_daily_cap_pays_up_to_the_cap_then_nothing_and_resets_the_next_shanghai_day():
    doctor = make_doctor()
    rule("read_article", points=7, daily_cap=20, yearly_cap=None)
    # 23:30 in Shanghai is 15:30 UTC: still the same Shanghai day as the morning.
    with time_machine.travel("2026-03-10 08:00 +0800", tick=False):
        results = [points_award(member=doctor, rule_code="read_article", source=("a", i)).points for i in range(3)]
    with time_machine.travel("2026-03-10 23:30 +0800", tick=False):
        last = points_award(member=doctor, rule_code="read_article", source=("a", 3))
    assert results == [7, 7, 6]  # the third award fills the cap exactly
    assert (last.points, last.reason, last.transaction) == (0, "daily_cap", None)
    with time_machine.travel("2026-03-11 00:10 +0800", tick=False):  # 16:10 UTC on the 10th
        assert points_award(member=doctor, rule_code="read_article", source=("a", 3)).points == 7
    assert_ledger_agrees(doctor)


def test_partial_award_reports_the_cap():
    doctor = make_doctor()
    rule("read_article", points=7, daily_cap=10, yearly_cap=None)
    assert points_award(member=doctor, rule_code="read_article", source=("a", 1)).points == 7
    partial = points_award(member=doctor, rule_code="read_article", source=("a", 2))
    assert (partial.points, partial.reason, partial.capped) == (3, "daily_cap", True)
    assert partial.transaction.amount == 3


def test_yearly_cap_across_days_and_reset_in_january():
    doctor = make_doctor()
    rule("attend_meeting", points=50, daily_cap=100, yearly_cap=120)
    with time_machine.travel("2026-05-01 10:00 +0800", tick=False):
        assert points_award(member=doctor, rule_code="attend_meeting", source=("m", 1)).points == 50
        assert points_award(member=doctor, rule_code="attend_meeting", source=("m", 2)).points == 50
    with time_machine.travel("2026-05-02 10:00 +0800", tick=False):
        third = points_award(member=doctor, rule_code="attend_meeting", source=("m", 3))
        fourth = points_award(member=doctor, rule_code="attend_meeting", source=("m", 4))
    assert (third.points, third.reason) == (20, "yearly_cap")
    assert (fourth.points, fourth.reason) == (0, "yearly_cap")
    # 2027-01-01 00:30 Shanghai is still 2026 in UTC: the Shanghai year counts.
    with time_machine.travel("2027-01-01 00:30 +0800", tick=False):
        assert points_award(member=doctor, rule_code="attend_meeting", source=("m", 4)).points == 50


def test_caps_are_per_rule_and_per_doctor():
    a, b = make_doctor(), make_doctor()
    rule("read_article", points=5, daily_cap=5)
    assert points_award(member=a, rule_code="read_article", source=("a", 1)).points == 5
    assert points_award(member=a, rule_code="read_article", source=("a", 2)).reason == "daily_cap"
    assert points_award(member=b, rule_code="read_article", source=("a", 2)).points == 5
    assert points_award(member=a, rule_code="survey_answer", source=("a", 2)).points == 20


@pytest.mark.parametrize(("earned", "expires"), [
    ("2026-01-01 00:05 +0800", date(2027, 12, 31)),  # 2025 in UTC, 2026 in Shanghai
    ("2026-12-31 23:59 +0800", date(2027, 12, 31)),
    ("2027-06-01 12:00 +0800", date(2028, 12, 31)),
])
def test_expiry_date_is_the_end_of_the_next_calendar_year(earned, expires):
    doctor = make_doctor()
    with time_machine.travel(earned, tick=False):
        row = points_award(member=doctor, rule_code="read_article", source=("a", 1)).transaction
    assert row.expires_on == expires


def test_expiry_years_setting():
    from members.points.models import PointsSettings

    PointsSettings.objects.update_or_create(pk=1, defaults={"expiry_years": 3})
    with time_machine.travel("2026-04-01 12:00 +0800", tick=False):
        row = points_award(member=make_doctor(), rule_code="read_article", source=("a", 1)).transaction
    assert row.expires_on == date(2029, 12, 31)


def test_ledger_rows_are_append_only():
    row = points_award(member=make_doctor(), rule_code="read_article", source=("a", 1)).transaction
    row.amount = 500
    with pytest.raises(ValueError, match="append-only"):
        row.save()


def test_long_explicit_keys_stay_unique():
    doctor = make_doctor()
    long_a, long_b = "x" * 300 + "a", "x" * 300 + "b"
    assert points_award(member=doctor, rule_code="read_article", source=("a", 1), idempotency_key=long_a).points
    assert points_award(member=doctor, rule_code="read_article", source=("a", 2), idempotency_key=long_b).points
    assert points_award(member=doctor, rule_code="read_article", source=("a", 3),
                        idempotency_key=long_a).reason == "duplicate"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_fifty_threads_awarding_the_same_source_pay_exactly_once():
    doctor = make_doctor()
    results = race(50, lambda i: points_award(member=doctor, rule_code="attend_meeting", source=("events.meeting", 1)))
    assert all(isinstance(r, AwardResult) for r in results), [r for r in results if not isinstance(r, AwardResult)]
    assert sum(r.points for r in results) == 50
    assert sorted(r.reason for r in results).count("duplicate") == 49
    assert PointsTransaction.objects.filter(account__user=doctor).count() == 1
    assert EngagementEvent.objects.filter(doctor=doctor, kind="points_earned").count() == 1
    assert_ledger_agrees(doctor)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_fifty_threads_with_distinct_sources_respect_the_daily_cap_exactly():
    from members.points.services import account_for

    doctor = make_doctor()
    account_for(doctor)  # exists already: only the row lock can serialise the racers
    rule("read_article", points=5, daily_cap=32, yearly_cap=None)
    results = race(50, lambda i: points_award(member=doctor, rule_code="read_article", source=("cms.article", i)))
    assert all(isinstance(r, AwardResult) for r in results)
    assert sum(r.points for r in results) == 32
    assert PointsAccount.objects.get(user=doctor).balance == 32
    assert_ledger_agrees(doctor)


def test_rules_are_saved_by_marketing_and_keep_their_code_once_used():
    from members.points.models import PointsRule
    from members.points.services import points_rule_save

    marketing = user_with_role("marketing")
    with pytest.raises(DomainError) as exc:
        points_rule_save(rule=PointsRule(code="x", name="x", points=1), actor=user_with_role("rep"))
    assert exc.value.code == "forbidden"
    new = points_rule_save(rule=PointsRule(code="course_teach", name="授课", points=80), actor=marketing)
    assert points_award(member=make_doctor(), rule=new, source=("learning.course", 1)).points == 80
    new.code = "renamed"
    with pytest.raises(DomainError) as exc:
        points_rule_save(rule=new, actor=marketing)
    assert exc.value.code == "rule_in_use"
    assert PointsRule.objects.filter(code="course_teach").exists()




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
    assert entry["task"] == "members.points.tasks.points_expire"
    assert entry["schedule"].hour == {1} and entry["schedule"].minute == {0}
    assert settings.CELERY_TIMEZONE == "Asia/Shanghai"


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




def _code(fn, **kwargs):
    with pytest.raises(DomainError) as exc:
        fn(**kwargs)
    return exc.value.code


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


def test_the_ledger_is_append_only_in_the_database_too():
    doctor = make_doctor()
    row = points_award(member=doctor, rule_code="read_article", source=HospitalFactory()).transaction
    assert_append_only(row)
    assert_ledger_agrees(doctor)


def test_an_adjusting_staff_account_cannot_be_deleted_from_under_the_ledger():
    """Deleting the actor would null the ledger's reference, an UPDATE of evidence: refused before any SQL."""
    from django.db.models import ProtectedError

    admin = user_with_role("admin")
    row = services.points_adjust(account=account_for(make_doctor()), amount=10, reason="补录", actor=admin)
    with pytest.raises(ProtectedError):
        admin.delete()
    assert PointsTransaction.objects.get(pk=row.pk).actor_id == admin.pk



@pytest.mark.django_db(transaction=True)
def test_the_flush_of_transactional_tests_still_empties_the_ledger():
    """Django's flush (TRUNCATE, after every transactional test) is not refused: the trigger is row-level. The
    statements are the ones `flush` runs, limited to the ledger so the rest of the test database stays as it is."""
    from django.core.management.color import no_style
    from django.db import connection

    points_award(member=make_doctor(), rule_code="read_article", source=HospitalFactory())
    with connection.cursor() as cursor:
        for statement in connection.ops.sql_flush(no_style(), [PointsTransaction._meta.db_table],
                                                       allow_cascade=True):
            cursor.execute(statement)
    assert not PointsTransaction.objects.exists()


def test_reversal_is_a_new_row_taking_back_the_award_once():
    doctor = make_doctor()
    source = ("events.checkin", 41)
    award = points_award(member=doctor, rule_code="attend_meeting", source=source).transaction
    row = services.points_award_reverse(member=doctor, rule_code="attend_meeting", source=source, reason="annulled")
    assert (row.kind, row.amount, row.balance_after, row.rule_id) == ("adjust", -50, 0, award.rule_id)
    assert (row.source_type, row.source_id, row.reason) == ("events.checkin", "41", "annulled")
    assert PointsTransaction.objects.get(pk=award.pk).amount == 50  # the award stays as it was
    assert services.points_award_reverse(member=doctor, rule_code="attend_meeting", source=source,
                                         reason="again") is None
    assert services.points_award_reverse(member=doctor, rule_code="attend_meeting", source=("events.checkin", 42),
                                         reason="never paid") is None
    assert PointsAccount.objects.get(user=doctor).balance == 0
    assert PointsTransaction.objects.count() == 2
    assert_ledger_agrees(doctor)


def test_reversal_never_takes_the_balance_below_zero_and_records_the_shortfall():
    doctor = make_doctor()
    points_award(member=doctor, rule_code="attend_meeting", source=("events.checkin", 1))
    give_points(doctor, 250)
    services.reward_redeem(member=doctor, reward_id=approved_reward(points_cost=280).pk)
    row = services.points_award_reverse(member=doctor, rule_code="attend_meeting", source=("events.checkin", 1),
                                        reason="annulled")
    assert row.amount == -20 and PointsAccount.objects.get(user=doctor).balance == 0
    assert AuditEntry.objects.get(action="points.award_reverse").after["shortfall"] == 30
    assert_ledger_agrees(doctor)


@pytest.mark.django_db(transaction=True)
def test_racing_reversals_of_one_award_take_it_back_once():
    doctor = make_doctor()
    points_award(member=doctor, rule_code="attend_meeting", source=("events.checkin", 9))
    results = race(10, lambda i: services.points_award_reverse(member=doctor, rule_code="attend_meeting",
                                                               source=("events.checkin", 9), reason="annulled"))
    assert sum(1 for result in results if isinstance(result, PointsTransaction)) == 1
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert PointsAccount.objects.get(user=doctor).balance == 0


def test_redemption_tells_the_doctor_in_the_inbox_and_by_sms_with_consent(celery_eager, deliver_outbox, fake_twilio,
                                                                          django_capture_on_commit_callbacks):
    from engage.inbox.models import Notification
    from members.consents.services import consent_give

    doctor, silent = make_doctor(), make_doctor()
    consent_give(user=doctor, kind="marketing_sms")
    reward = approved_reward(stock=5, points_cost=100, name="NEJM 全文")
    for member in (doctor, silent):
        give_points(member, 250)
        with django_capture_on_commit_callbacks(execute=True):
            result = services.reward_redeem(member=member, reward_id=reward.pk, idempotency_key="click-1")
            services.reward_redeem(member=member, reward_id=reward.pk, idempotency_key="click-1")  # a double click
        note = Notification.objects.get(user=member, kind="points.redeemed")
        assert note.key == f"redemption:{result.redemption.pk}" and "NEJM 全文" in note.title and "150" in note.body
    deliver_outbox()
    assert [m["To"] for m in fake_twilio.sent] == [doctor.mobile]


def _uncapped(code: str = "survey_answer"):
    return rule(code, daily_cap=None, yearly_cap=None)


def test_an_uncapped_award_is_one_statement_that_writes_the_ledger_row_engagement_and_audit_entry():
    paid = _uncapped()
    doctor = make_doctor()
    give_points(doctor, 40)  # the account exists, with a balance to move
    with CaptureQueriesContext(connection) as queries:
        result = points_award(member=doctor, rule_code=paid.code, source=("events.survey", 11))
    writes = [q["sql"] for q in queries if q["sql"].startswith(("WITH", "INSERT", "UPDATE"))]
    assert len(writes) == 1 and writes[0].startswith("WITH account AS (\n    UPDATE")
    row = PointsTransaction.objects.get(pk=result.transaction.pk)
    assert (result.points, result.reason, result.capped) == (paid.points, "", False)
    assert (row.kind, row.amount, row.balance_after, row.rule_id) == ("earn", paid.points, 40 + paid.points, paid.pk)
    assert (row.source_type, row.source_id, row.source_repr) == ("events.survey", "11", "events.survey#11")
    assert row.expires_on == date(local_today().year + 1, 12, 31)
    assert result.transaction.balance_after == row.balance_after and result.transaction.account.user == doctor
    assert PointsAccount.objects.get(user=doctor).balance == 40 + paid.points
    event = EngagementEvent.objects.get(doctor=doctor, kind="points_earned",
                                        source_key__endswith=f":11:{doctor.pk}")
    label = "members.pointstransaction"
    assert (event.object_type, event.object_id, event.object_repr) == (label, str(row.pk), str(row))
    assert event.metadata == {"rule": paid.code, "points": paid.points, "source_type": "events.survey",
                              "source_id": "11"}
    entry = AuditEntry.objects.get(action="points.award", object_id=str(row.pk))
    assert entry.object_repr == str(row) and entry.object_type == label
    assert entry.after == {"rule": paid.code, "points": paid.points, "balance": 40 + paid.points,
                           "source": "events.survey#11", "capped": False}
    assert_ledger_agrees(doctor)
    # The repeat pays nothing and says why.
    assert points_award(member=doctor, rule_code=paid.code, source=("events.survey", 11)).reason == "duplicate"


def test_the_first_uncapped_award_opens_the_account():
    paid = _uncapped()
    doctor = make_doctor()
    assert not PointsAccount.objects.filter(user=doctor).exists()
    assert points_award(member=doctor, rule_code=paid.code, source=("events.survey", 12)).points == paid.points
    assert PointsAccount.objects.get(user=doctor).balance == paid.points
    assert_ledger_agrees(doctor)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_fifty_threads_paying_one_doctor_uncapped_awards_keep_the_ledger_chained():
    paid = _uncapped()
    doctor = make_doctor()
    give_points(doctor, 1)
    results = race(50, lambda i: points_award(member=doctor, rule_code=paid.code, source=("events.survey", i % 25)))
    assert all(isinstance(r, AwardResult) for r in results), [r for r in results if not isinstance(r, AwardResult)]
    assert sum(r.points for r in results) == 25 * paid.points
    assert [r.reason for r in results].count("duplicate") == 25
    assert PointsAccount.objects.get(user=doctor).balance == 1 + 25 * paid.points
    assert EngagementEvent.objects.filter(doctor=doctor, kind="points_earned").count() == 25
    assert_ledger_agrees(doctor)


def test_an_award_never_pays_from_a_rule_changed_since_this_process_last_read_it():
    paid = _uncapped()
    doctor = make_doctor()
    give_points(doctor, 1)
    assert points_award(member=doctor, rule_code=paid.code, source=("events.survey", 21)).points == paid.points
    # Marketing changes the rule; the next award pays the new amount, then nothing once it is disabled.
    rule(paid.code, points=paid.points + 7)
    assert points_award(member=doctor, rule_code=paid.code, source=("events.survey", 22)).points == paid.points + 7
    rule(paid.code, enabled=False)
    assert points_award(member=doctor, rule_code=paid.code, source=("events.survey", 23)).reason == "rule_inactive"
    rule(paid.code, enabled=True, daily_cap=paid.points + 7)  # capped now: the general path pays up to the cap
    result = points_award(member=doctor, rule_code=paid.code, source=("events.survey", 24))
    assert (result.points, result.reason) == (0, "daily_cap")
    PointsSettings.objects.update_or_create(pk=1, defaults={"expiry_years": 3})
    rule(paid.code, daily_cap=None)
    row = points_award(member=doctor, rule_code=paid.code, source=("events.survey", 25)).transaction
    assert row.expires_on == date(local_today().year + 3, 12, 31)
    assert_ledger_agrees(doctor)
