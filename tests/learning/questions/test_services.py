import pytest

from engage.core.errors import DomainError, PermissionDenied
from learning.exams.services import attempt_start
from learning.questions.models import CompetencyKind, QuestionKind
from learning.questions.services import (
    category_create,
    grade_answer,
    normalise_answer,
    question_create,
    question_update,
)
from tests.factories import user_with_role
from tests.learning.exam_builders import make_bank, make_exam, make_question

pytestmark = pytest.mark.django_db


def test_normalise_answer_full_width_spaces_and_case():
    assert normalise_answer("ＡＣＥ　抑制 剂") == normalise_answer("ace抑制剂")
    assert normalise_answer(" Ｈｂ Ａ１ｃ ") == "hba1c"
    assert normalise_answer(None) == ""


@pytest.mark.parametrize(("kind", "answer", "right"), [
    (QuestionKind.SINGLE, "A", True), (QuestionKind.SINGLE, "B", False), (QuestionKind.SINGLE, ["A"], False),
    (QuestionKind.MULTIPLE, ["C", "A"], True), (QuestionKind.MULTIPLE, ["A"], False),
    (QuestionKind.MULTIPLE, "A", False), (QuestionKind.TRUE_FALSE, "T", True), (QuestionKind.TRUE_FALSE, "F", False),
    (QuestionKind.FILL_IN, "ＡＣＥ 抑制剂", True), (QuestionKind.FILL_IN, "", False),
    (QuestionKind.FILL_IN, None, False),
])
def test_grade_answer(kind, answer, right):
    options = {QuestionKind.SINGLE: [{"key": "A", "correct": True}, {"key": "B", "correct": False}],
               QuestionKind.MULTIPLE: [{"key": "A", "correct": True}, {"key": "B"}, {"key": "C", "correct": True}],
               QuestionKind.TRUE_FALSE: [{"key": "T", "correct": True}, {"key": "F", "correct": False}],
               QuestionKind.FILL_IN: []}[kind]
    assert grade_answer(kind=kind, options=options, accepted_answers=["ace抑制剂"], answer=answer) is right


@pytest.mark.parametrize(("kind", "options", "answers", "code"), [
    (QuestionKind.SINGLE, [{"text": "a", "correct": True}], None, "invalid_options"),
    (QuestionKind.SINGLE, [{"text": "a", "correct": True}, {"text": "b", "correct": True}], None, "invalid_correct"),
    (QuestionKind.MULTIPLE, [{"text": "a"}, {"text": "b"}], None, "invalid_correct"),
    (QuestionKind.TRUE_FALSE, [{"key": "X", "correct": True}], None, "invalid_true_false"),
    (QuestionKind.FILL_IN, None, ["  "], "missing_answer"),
    ("essay", None, None, "invalid_kind"),
])
def test_invalid_questions_are_refused_and_nothing_is_stored(kind, options, answers, code):
    bank = make_bank(per_difficulty=0)
    with pytest.raises(DomainError) as error:
        question_create(actor=user_with_role("marketing"), category=bank.root, kind=kind, text="题目",
                        options=options, accepted_answers=answers)
    assert error.value.code == code
    assert not bank.root.questions.exists()


def test_only_learning_managers_edit_the_bank():
    bank = make_bank(per_difficulty=0)
    for role in ("rep", "doctor", "medical_reviewer", "compliance"):
        with pytest.raises(PermissionDenied):
            question_create(actor=user_with_role(role), category=bank.root, kind=QuestionKind.FILL_IN, text="x",
                            accepted_answers=["y"])


def test_editing_an_unused_question_changes_its_version_in_place():
    bank = make_bank(per_difficulty=0)
    question = make_question(category=bank.root)
    version = question_update(actor=user_with_role("marketing"), question=question, text="改过的题目",
                              options=[{"text": "甲", "correct": True}, {"text": "乙"}])
    assert version.number == 1 and question.versions.count() == 1
    assert version.text == "改过的题目" and version.correct_keys == ["A"]


def test_editing_a_question_an_attempt_showed_makes_a_new_version_and_the_attempt_keeps_its_own():
    bank = make_bank(per_difficulty=0)
    question = make_question(category=bank.root, text="原来的题目")
    exam = make_exam(fixed=[question])
    attempt = attempt_start(user=user_with_role("rep"), exam_id=exam.pk)
    shown = attempt.questions.get()
    new = question_update(actor=user_with_role("marketing"), question=question, text="新的题目",
                          options=[{"text": "甲"}, {"text": "乙", "correct": True}])
    question.refresh_from_db()
    assert new.number == 2 and question.current_version == new
    shown.refresh_from_db()
    assert shown.version.number == 1 and shown.version.text == "原来的题目"
    later = attempt_start(user=user_with_role("rep"), exam_id=exam.pk)
    assert later.questions.get().version == new


def test_category_tree_and_duplicate_names():
    manager = user_with_role("marketing")
    root = category_create(actor=manager, name="合规", kind=CompetencyKind.COMPLIANCE)
    child = category_create(actor=manager, name="反商业贿赂", parent=root)
    assert child.kind == CompetencyKind.COMPLIANCE == "compliance_topic"
    with pytest.raises(DomainError) as error:
        category_create(actor=manager, name="合规")
    assert error.value.code == "duplicate_category"
