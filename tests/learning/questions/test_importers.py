import io

import pytest
from openpyxl import Workbook, load_workbook

from engage.core.errors import DomainError
from learning.questions.exporters import HEADERS, question_template_workbook
from learning.questions.models import CompetencyKind, Question, QuestionCategory
from learning.questions.services import questions_import
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


def _workbook(rows, headers=HEADERS) -> bytes:
    book = Workbook()
    book.active.append(headers)
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _row(category="产品知识 / 适应症", kind="单选", difficulty="2", text="题目", options=("甲", "乙"), answer="A",
         explanation="", tags=""):
    return [category, kind, difficulty, text, *options, *[""] * (8 - len(options)), answer, explanation, tags]


@pytest.fixture
def categories():
    root = QuestionCategory.objects.create(name="产品知识")
    QuestionCategory.objects.create(name="适应症", parent=root)
    QuestionCategory.objects.create(name="合规", kind=CompetencyKind.COMPLIANCE)


def test_the_template_imports_as_it_is(categories):
    created = questions_import(actor=user_with_role("marketing"), data=question_template_workbook())
    assert [q.kind for q in created] == ["single", "true_false", "fill_in"]
    fill_in = created[2].current_version
    assert fill_in.accepted_answers == ["国家药监局", "NMPA"]
    assert created[1].current_version.correct_keys == ["F"]
    assert set(created[0].tags.names()) == {"糖尿病", "指南"}


def test_every_problem_is_reported_with_line_and_column_and_nothing_is_imported(categories):
    data = _workbook([
        _row(),
        _row(category="不存在"),
        _row(kind="问答"),
        _row(difficulty="9", text=""),
        _row(kind="多选", answer="AD"),
        _row(kind="判断", options=(), answer="也许"),
        _row(kind="填空", options=(), answer=""),
    ])
    with pytest.raises(DomainError) as error:
        questions_import(actor=user_with_role("marketing"), data=data)
    assert error.value.code == "import_invalid"
    found = {(e["line"], e["column"]) for e in error.value.details["errors"]}
    assert found == {(3, "分类"), (4, "题型"), (5, "难度"), (5, "题目"), (6, "正确答案"), (7, "正确答案"),
                     (8, "正确答案")}
    assert not Question.objects.exists()


@pytest.mark.parametrize(("data", "column"), [
    (b"PK\x03\x04 not really a workbook", ""),
    (_workbook([], headers=["分类", "题目"]), "题型"),
])
def test_malformed_files(categories, data, column):
    with pytest.raises(DomainError) as error:
        questions_import(actor=user_with_role("marketing"), data=data)
    assert column in {e["column"] for e in error.value.details["errors"]}


def test_export_round_trips(categories):
    manager = user_with_role("marketing")
    questions_import(actor=manager, data=question_template_workbook())
    from learning.questions.exporters import question_export_workbook
    from learning.questions.selectors import category_paths

    exported = question_export_workbook(Question.objects.select_related("current_version").order_by("pk"),
                                        paths=category_paths())
    sheet = load_workbook(io.BytesIO(exported)).active
    assert [cell.value for cell in sheet[1]] == HEADERS
    assert sheet.max_row == 4
    again = questions_import(actor=manager, data=exported)
    assert [q.current_version.text for q in again] == [q.current_version.text for q in
                                                       Question.objects.order_by("pk")[:3]]
