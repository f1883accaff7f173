"""points_award: idempotent per source, capped per day and year, audited, recorded as engagement."""

from datetime import date

import pytest
import time_machine

from engage.audit.models import AuditEntry
from engage.errors import DomainError
from members.models import EngagementEvent, PointsAccount, PointsTransaction
from members.services import points_award
from members.services.points import AwardResult
from tests.factories import HospitalFactory, user_with_role
from tests.members.points_support import assert_ledger_agrees, make_doctor, race, rule

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
    from members.models import PointsSettings

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
    from members.services.points import account_for

    doctor = make_doctor()
    account_for(doctor)  # exists already: only the row lock can serialise the racers
    rule("read_article", points=5, daily_cap=32, yearly_cap=None)
    results = race(50, lambda i: points_award(member=doctor, rule_code="read_article", source=("cms.article", i)))
    assert all(isinstance(r, AwardResult) for r in results)
    assert sum(r.points for r in results) == 32
    assert PointsAccount.objects.get(user=doctor).balance == 32
    assert_ledger_agrees(doctor)


def test_rules_are_saved_by_marketing_and_keep_their_code_once_used():
    from members.models import PointsRule
    from members.services import points_rule_save

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
