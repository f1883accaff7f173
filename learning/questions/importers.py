"""Reading a question-bank workbook (.xlsx with Chinese headers, see exporters.HEADERS): every row is checked and
every problem reported with its line, column and reason; the caller saves nothing unless there is none."""

import io
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from learning.questions.exporters import ANSWER_HEADER, HEADERS, KIND_LABELS, OPTION_HEADERS
from learning.questions.models import QuestionKind
from learning.questions.selectors import category_paths

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
DIFFICULTY_LABELS = {"1": 1, "2": 2, "3": 3, "易": 1, "简单": 1, "中": 2, "中等": 2, "难": 3, "困难": 3}
TRUE_LABELS, FALSE_LABELS = {"对", "正确", "是", "T", "TRUE"}, {"错", "错误", "否", "F", "FALSE"}


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str


@dataclass
class ParsedQuestion:
    line: int
    category_id: int
    kind: str
    difficulty: int
    text: str
    options: list[dict]
    accepted_answers: list[str]
    explanation: str
    tags: list[str] = field(default_factory=list)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def parse_question_workbook(data: bytes) -> tuple[list[ParsedQuestion], list[RowError]]:
    """The questions of the workbook, and the problems found (a file with problems imports nothing)."""
    from openpyxl import load_workbook

    if len(data) > MAX_FILE_BYTES:
        return [], [RowError(0, "", _("The file is larger than 5 MB."))]
    try:
        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
    except Exception:  # a zip that is not a workbook, a corrupt file: openpyxl raises many kinds
        return [], [RowError(0, "", _("This is not an Excel workbook (.xlsx)."))]
    rows = sheet.iter_rows(values_only=True)
    header = [_cell(value) for value in next(rows, ())]
    missing = [name for name in HEADERS if name not in header]
    if missing:
        return [], [RowError(1, name, _("This column is missing.")) for name in missing]
    index = {name: header.index(name) for name in HEADERS}
    paths = {path: pk for pk, path in category_paths().items()}
    kinds = {label: kind for kind, label in KIND_LABELS.items()}
    parsed, errors = [], []
    for line, raw in enumerate(rows, start=2):
        if line > MAX_ROWS + 1:
            errors.append(RowError(line, "", _("At most %(n)s questions per file.") % {"n": MAX_ROWS}))
            break
        values = {name: _cell(raw[i]) if i < len(raw) else "" for name, i in index.items()}
        if not any(values.values()):
            continue
        row_errors = []

        def error(column, reason, _errors=row_errors, _line=line):
            _errors.append(RowError(_line, column, reason))

        category_id = paths.get(" / ".join(part.strip() for part in values["分类"].split("/")))
        if category_id is None:
            error("分类", _("No such category: %(path)s") % {"path": values["分类"] or "—"})
        kind = kinds.get(values["题型"])
        if kind is None:
            error("题型", _("The type is one of 单选, 多选, 判断, 填空."))
        difficulty = DIFFICULTY_LABELS.get(values["难度"] or "2")
        if difficulty is None:
            error("难度", _("Difficulty is 1, 2 or 3 (易, 中, 难)."))
        text = values["题目"]
        if not text:
            error("题目", _("The question has no text."))
        elif len(text) > 2000:
            error("题目", _("The question is longer than 2000 characters."))
        answer = values[ANSWER_HEADER].upper().replace(" ", "").replace(",", "").replace("，", "")
        options, accepted = [], []
        if kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
            texts = [(header_name[-1], values[header_name]) for header_name in OPTION_HEADERS if values[header_name]]
            keys = [key for key, _text in texts]
            options = [{"text": option_text, "correct": key in answer} for key, option_text in texts]
            if len(texts) < 2:
                error("选项A", _("A choice question has 2 to 8 options."))
            elif not answer or any(letter not in keys for letter in answer):
                error(ANSWER_HEADER, _("The answer names options that are not filled in."))
            elif kind == QuestionKind.SINGLE and len(set(answer)) != 1:
                error(ANSWER_HEADER, _("A single-choice question has exactly one correct option."))
        elif kind == QuestionKind.TRUE_FALSE:
            if answer in TRUE_LABELS or values[ANSWER_HEADER] in TRUE_LABELS:
                options = [{"key": "T", "correct": True}]
            elif answer in FALSE_LABELS or values[ANSWER_HEADER] in FALSE_LABELS:
                options = [{"key": "F", "correct": True}]
            else:
                error(ANSWER_HEADER, _("A true-or-false answer is 对 or 错."))
        elif kind == QuestionKind.FILL_IN:
            accepted = [part.strip() for part in values[ANSWER_HEADER].split("|") if part.strip()]
            if not accepted:
                error(ANSWER_HEADER, _("A fill-in-the-blank question needs at least one accepted answer."))
        if row_errors:
            errors.extend(row_errors)
            continue
        tags = [tag.strip() for tag in values["标签"].replace("，", ",").split(",") if tag.strip()]
        parsed.append(ParsedQuestion(line=line, category_id=category_id, kind=kind, difficulty=difficulty, text=text,
                                     options=options, accepted_answers=accepted, explanation=values["解析"],
                                     tags=tags))
    if not parsed and not errors:
        errors.append(RowError(2, "", _("The file holds no questions.")))
    return parsed, errors
