"""The capability profile: scores per competency (product per product, compliance) from graded exam answers by
the category each question was drawn for; the radar SVG; the daily snapshots (history), once per day."""

import pytest

from learning.competencies.exporters import radar_svg
from learning.competencies.models import CompetencySnapshot
from learning.competencies.selectors import capability_history, capability_profile
from learning.competencies.services import competency_snapshots_take
from learning.exams.services import attempt_start, attempt_submit
from learning.questions.models import CompetencyKind, QuestionCategory
from tests.learning.exam_builders import answer_all, make_bank, make_exam, right_answer, wrong_answer
from tests.learning.quals import make_product, make_rep

pytestmark = pytest.mark.django_db


def test_scores_per_competency_from_graded_answers():
    from learning.exams.services import attempt_answer

    bank = make_bank(per_difficulty=2)
    product = make_product(name="格华止")
    QuestionCategory.objects.filter(pk__in=[bank.root.pk, bank.child.pk]).update(product=product)
    exam = make_exam(draws=[(bank.root, None, 4), (bank.other, None, 4)])
    rep = make_rep()
    attempt = attempt_start(user=rep, exam_id=exam.pk)
    compliance_seen = 0
    for item in attempt.questions.select_related("version", "question", "category").order_by("position"):
        # Every product question right; the compliance ones alternate, whatever positions the shuffle gave them.
        right = item.category.kind == "product" or compliance_seen % 2 == 0
        compliance_seen += item.category.kind != "product"
        attempt_answer(user=rep, attempt_id=attempt.pk, position=item.position,
                       answer=right_answer(item) if right else wrong_answer(item), seq=1)
    attempt_submit(user=rep, attempt_id=attempt.pk)
    scores = {s.kind: s for s in capability_profile(user=rep)}
    assert scores["product"].percent == 100.0 and scores["product"].answered == 4
    assert "格华止" in scores["product"].label
    assert scores[CompetencyKind.COMPLIANCE].answered == 4 and 0 < scores[CompetencyKind.COMPLIANCE].percent < 100
    svg = radar_svg(list(scores.values()), title="能力<画像>")
    assert svg.startswith("<svg") and "能力&lt;画像&gt;" in svg and 'data-testid="radar-area"' in svg


def test_no_answers_no_scores_and_the_radar_still_draws():
    rep = make_rep()
    assert capability_profile(user=rep) == []
    assert "<svg" in radar_svg([], title="空")


def _rep_with_a_passed_compliance_exam():
    bank = make_bank(per_difficulty=1)
    exam = make_exam(draws=[(bank.other, None, 3)])
    rep = make_rep()
    attempt = attempt_start(user=rep, exam_id=exam.pk)
    answer_all(attempt, right=True)
    attempt_submit(user=rep, attempt_id=attempt.pk)
    return rep


def test_daily_snapshots_once_per_day():
    rep = _rep_with_a_passed_compliance_exam()
    assert competency_snapshots_take() == 1
    assert competency_snapshots_take() == 1
    assert CompetencySnapshot.objects.filter(user=rep).count() == 1
    [point] = capability_history(user=rep)
    assert point["percent"] == 100.0


def test_one_snapshot_per_day_is_a_database_constraint_also_without_a_product():
    from datetime import date

    from django.db import IntegrityError, transaction

    rep = make_rep()
    CompetencySnapshot.objects.create(user=rep, kind=CompetencyKind.COMPLIANCE, taken_on=date(2026, 11, 2),
                                      percent=50, answered=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        CompetencySnapshot.objects.create(user=rep, kind=CompetencyKind.COMPLIANCE, taken_on=date(2026, 11, 2),
                                          percent=60, answered=3)
    CompetencySnapshot.objects.create(user=rep, kind=CompetencyKind.COMPLIANCE, taken_on=date(2026, 11, 3),
                                      percent=60, answered=3)  # the next day is a new row


def test_reps_without_a_new_exam_get_no_new_snapshot():
    from datetime import timedelta

    from django.utils import timezone

    rep = _rep_with_a_passed_compliance_exam()
    today = timezone.localdate()
    assert competency_snapshots_take(on=today) == 1
    # The next day once more (the exam may have come after that day's snapshot: a date cannot tell), then no more.
    assert competency_snapshots_take(on=today + timedelta(days=1)) == 1
    assert competency_snapshots_take(on=today + timedelta(days=2)) == 0
    assert competency_snapshots_take(on=today + timedelta(days=9)) == 0
    assert list(CompetencySnapshot.objects.filter(user=rep).values_list("taken_on", flat=True)) == [
        today, today + timedelta(days=1)]


def test_history_per_week_and_month_keeps_the_last_score_of_each_period():
    from datetime import date, timedelta

    rep = make_rep()
    start = date(2026, 9, 28)  # a Monday
    for offset in range(21):  # three weeks of daily snapshots, the score rising by one point a day
        CompetencySnapshot.objects.create(user=rep, kind=CompetencyKind.COMPLIANCE,
                                          taken_on=start + timedelta(days=offset), percent=50 + offset, answered=5)
    daily = capability_history(user=rep)
    assert len(daily) == 21
    weekly = capability_history(user=rep, per="week")
    assert [(p["date"], p["percent"]) for p in weekly] == [
        (date(2026, 10, 4), 56.0), (date(2026, 10, 11), 63.0), (date(2026, 10, 18), 70.0)]
    monthly = capability_history(user=rep, per="month")
    assert [(p["date"], p["percent"]) for p in monthly] == [(date(2026, 9, 30), 52.0), (date(2026, 10, 18), 70.0)]
    assert {p["label"] for p in monthly} == {str(CompetencyKind.COMPLIANCE.label)}
