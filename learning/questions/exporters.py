"""The question-bank workbook: Chinese headers, one question per row; the empty template and the export."""

import io

from learning.questions.models import QuestionKind

OPTION_HEADERS = [f"选项{letter}" for letter in "ABCDEFGH"]
ANSWER_HEADER = "正确答案"
HEADERS = ["分类", "题型", "难度", "题目", *OPTION_HEADERS, ANSWER_HEADER, "解析", "标签"]
KIND_LABELS = {QuestionKind.SINGLE: "单选", QuestionKind.MULTIPLE: "多选", QuestionKind.TRUE_FALSE: "判断",
               QuestionKind.FILL_IN: "填空"}
EXAMPLES = [
    ["产品知识 / 适应症", "单选", "2", "二甲双胍的首选适应症是？", "2型糖尿病", "1型糖尿病", "高血压", *[""] * 5,
     "A", "指南推荐二甲双胍为2型糖尿病一线用药。", "糖尿病,指南"],
    ["合规", "判断", "1", "医药代表可以向医生提供现金。", *[""] * 8, "错", "违反反商业贿赂规定。", "合规"],
    ["合规", "填空", "2", "医药代表备案管理办法由____发布。", *[""] * 8, "国家药监局|NMPA", "", ""],
]


def _workbook(rows) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "题库"
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def question_template_workbook() -> bytes:
    return _workbook(EXAMPLES)


def question_export_workbook(questions, *, paths: dict[int, str]) -> bytes:
    """`questions` with their current versions and tags prefetched; `paths` from selectors.category_paths()."""
    rows = []
    for question in questions:
        version = question.current_version
        options = [option["text"] for option in version.options] if question.kind in (
            QuestionKind.SINGLE, QuestionKind.MULTIPLE) else []
        if question.kind == QuestionKind.FILL_IN:
            answer = "|".join(version.accepted_answers)
        elif question.kind == QuestionKind.TRUE_FALSE:
            answer = "对" if version.correct_keys == ["T"] else "错"
        else:
            answer = "".join(version.correct_keys)
        rows.append([paths.get(question.category_id, ""), KIND_LABELS[question.kind], question.difficulty,
                     version.text, *(options + [""] * (8 - len(options))), answer, version.explanation,
                     ",".join(tag.name for tag in question.tags.all())])
    return _workbook(rows)
