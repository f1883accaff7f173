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
    for item in attempt.questions.select_related("version", "question", "category"):
        right = item.category.kind == "product" or item.position % 2 == 0
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


def test_daily_snapshots_once_per_day():
    bank = make_bank(per_difficulty=1)
    exam = make_exam(draws=[(bank.other, None, 3)])
    rep = make_rep()
    attempt = attempt_start(user=rep, exam_id=exam.pk)
    answer_all(attempt, right=True)
    attempt_submit(user=rep, attempt_id=attempt.pk)
    assert competency_snapshots_take() == 1
    assert competency_snapshots_take() == 1
    assert CompetencySnapshot.objects.filter(user=rep).count() == 1
    [point] = capability_history(user=rep)
    assert point["percent"] == 100.0
