"""Writes of the question bank: categories, questions and their versions, grading one answer.

A question's text, options and answers live in versions. Editing a question whose current version an attempt has
shown creates a new version (the attempt keeps the one it showed); otherwise the current version is edited.
"""

import unicodedata

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from engage.audit.services import audit_log
from engage.core.errors import DomainError, PermissionDenied
from engage.core.roles import Capability, can
from learning.questions.importers import parse_question_workbook
from learning.questions.models import (
    CompetencyKind,
    Difficulty,
    Question,
    QuestionCategory,
    QuestionKind,
    QuestionVersion,
)

MAX_OPTIONS = 8
OPTION_KEYS = "ABCDEFGH"
TRUE_FALSE_OPTIONS = [{"key": "T", "text": "正确"}, {"key": "F", "text": "错误"}]


def normalise_answer(text: str) -> str:
    """Fill-in-the-blank comparison: full-width to half-width (NFKC), no spaces at all, case-folded."""
    text = unicodedata.normalize("NFKC", str(text or ""))
    return "".join(text.split()).casefold()


def _require_manager(actor) -> None:
    if not can(actor, Capability.MANAGE_LEARNING):
        raise PermissionDenied("forbidden", _("You may not edit the question bank."))


def clean_question_fields(*, kind: str, text: str, options: list[dict] | None, accepted_answers: list[str] | None,
                          difficulty: int) -> tuple[list[dict], list[str]]:
    """Validates what a question says; returns the normalised (options, accepted_answers) or raises DomainError
    with a code naming the first problem."""
    if kind not in QuestionKind.values:
        raise DomainError("invalid_kind", _("Unknown question type."))
    if difficulty not in Difficulty.values:
        raise DomainError("invalid_difficulty", _("Difficulty is 1 (easy), 2 (medium) or 3 (hard)."))
    if not (text or "").strip():
        raise DomainError("missing_text", _("The question has no text."))
    if len(text) > 2000:
        raise DomainError("text_too_long", _("The question is longer than 2000 characters."))
    options, accepted = list(options or []), [str(a).strip() for a in (accepted_answers or []) if str(a).strip()]
    if kind == QuestionKind.FILL_IN:
        if not accepted:
            raise DomainError("missing_answer", _("A fill-in-the-blank question needs at least one accepted answer."))
        return [], accepted
    if kind == QuestionKind.TRUE_FALSE:
        correct = {option.get("key") for option in options if option.get("correct")}
        if len(correct) != 1 or not correct <= {"T", "F"}:
            raise DomainError("invalid_true_false", _("A true-or-false question is either true or false."))
        return [dict(option, correct=option["key"] in correct) for option in TRUE_FALSE_OPTIONS], []
    cleaned = []
    for option in options:
        option_text = str(option.get("text", "")).strip()
        if option_text:
            cleaned.append({"key": OPTION_KEYS[len(cleaned)] if len(cleaned) < MAX_OPTIONS else "?",
                            "text": option_text, "correct": bool(option.get("correct"))})
    if len(cleaned) < 2 or len(cleaned) > MAX_OPTIONS:
        raise DomainError("invalid_options", _("A choice question has 2 to 8 options."))
    right = sum(option["correct"] for option in cleaned)
    if kind == QuestionKind.SINGLE and right != 1:
        raise DomainError("invalid_correct", _("A single-choice question has exactly one correct option."))
    if kind == QuestionKind.MULTIPLE and right < 1:
        raise DomainError("invalid_correct", _("A multiple-choice question has at least one correct option."))
    return cleaned, []


def _snapshot(version: QuestionVersion) -> dict:
    return {"number": version.number, "text": version.text, "options": version.options,
            "accepted_answers": version.accepted_answers, "explanation": version.explanation}


@transaction.atomic
def question_create(*, actor, category: QuestionCategory, kind: str, text: str, options: list[dict] | None = None,
                    accepted_answers: list[str] | None = None, explanation: str = "",
                    difficulty: int = Difficulty.MEDIUM, tags: list[str] | None = None,
                    audit: bool = True) -> Question:
    _require_manager(actor)
    options, accepted = clean_question_fields(kind=kind, text=text, options=options,
                                              accepted_answers=accepted_answers, difficulty=difficulty)
    question = Question.objects.create(category=category, kind=kind, difficulty=difficulty)
    version = QuestionVersion.objects.create(question=question, number=1, text=text.strip(), options=options,
                                             accepted_answers=accepted, explanation=explanation.strip(),
                                             created_by=actor)
    question.current_version = version
    question.save(update_fields=["current_version"])
    if tags:
        question.tags.set(tags)
    if audit:
        audit_log(actor=actor, action="learning.question_create", obj=question, after=_snapshot(version))
    return question


@transaction.atomic
def question_update(*, actor, question: Question, text: str, options: list[dict] | None = None,
                    accepted_answers: list[str] | None = None, explanation: str = "",
                    difficulty: int | None = None, category: QuestionCategory | None = None) -> QuestionVersion:
    """Changes what `question` says. A version an attempt has shown is never changed: a new version is made and
    becomes current; attempts keep pointing at the version they showed."""
    _require_manager(actor)
    question = Question.objects.select_for_update().get(pk=question.pk)
    difficulty = question.difficulty if difficulty is None else difficulty
    options, accepted = clean_question_fields(kind=question.kind, text=text, options=options,
                                              accepted_answers=accepted_answers, difficulty=difficulty)
    current = question.current_version
    before = _snapshot(current)
    if current.shown_in.exists():
        number = (question.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
        current = QuestionVersion.objects.create(question=question, number=number, text=text.strip(),
                                                 options=options, accepted_answers=accepted,
                                                 explanation=explanation.strip(), created_by=actor)
    else:
        current.text, current.options, current.accepted_answers = text.strip(), options, accepted
        current.explanation = explanation.strip()
        current.save(update_fields=["text", "options", "accepted_answers", "explanation"])
    question.current_version = current
    question.difficulty = difficulty
    if category is not None:
        question.category = category
    question.save(update_fields=["current_version", "difficulty", "category"])
    audit_log(actor=actor, action="learning.question_update", obj=question, before=before, after=_snapshot(current))
    return current


@transaction.atomic
def category_create(*, actor, name: str, parent: QuestionCategory | None = None, kind: str | None = None,
                    product=None, therapy_area=None) -> QuestionCategory:
    _require_manager(actor)
    name = (name or "").strip()
    if not name:
        raise DomainError("missing_name", _("The category has no name."))
    if kind is not None and kind not in CompetencyKind.values:
        raise DomainError("unknown_competency", _("Unknown competency: %(kind)s.") % {"kind": kind})
    if QuestionCategory.objects.filter(parent=parent, name=name).exists():
        raise DomainError("duplicate_category", _("A category of this name exists there already."), status=409)
    category = QuestionCategory.objects.create(
        name=name, parent=parent, kind=kind or (parent.kind if parent else CompetencyKind.PRODUCT),
        product=product if product is not None else (parent.product if parent else None),
        therapy_area=therapy_area)
    audit_log(actor=actor, action="learning.category_create", obj=category,
              after={"name": name, "parent": getattr(parent, "pk", None)})
    return category


def grade_answer(*, kind: str, options: list[dict], accepted_answers: list[str], answer) -> bool:
    """Whether `answer` (as saved: an option key, a list of keys, or text) is right for this version."""
    if answer is None:
        return False
    if kind == QuestionKind.FILL_IN:
        given = normalise_answer(answer if isinstance(answer, str) else "")
        return bool(given) and given in {normalise_answer(accepted) for accepted in accepted_answers}
    correct = sorted(option["key"] for option in options if option.get("correct"))
    if kind == QuestionKind.MULTIPLE:
        return isinstance(answer, list) and sorted(set(map(str, answer))) == correct
    return isinstance(answer, str) and [answer] == correct


@transaction.atomic
def questions_import(*, actor, data: bytes, filename: str = "") -> list[Question]:
    """Imports every question of the workbook, or none: any problem raises `import_invalid` with the list of
    (line, column, reason) in `errors`."""
    _require_manager(actor)
    parsed, errors = parse_question_workbook(data)
    if errors:
        raise DomainError("import_invalid", _("The file has problems; nothing was imported."),
                          errors=[{"line": e.line, "column": e.column, "reason": str(e.reason)} for e in errors])
    categories = {c.pk: c for c in QuestionCategory.objects.filter(pk__in={row.category_id for row in parsed})}
    created = [question_create(actor=actor, category=categories[row.category_id], kind=row.kind, text=row.text,
                               options=row.options, accepted_answers=row.accepted_answers,
                               explanation=row.explanation, difficulty=row.difficulty, tags=row.tags, audit=False)
               for row in parsed]
    audit_log(actor=actor, action="learning.questions_import", object_type="learning.question",
              after={"file": filename[:200], "questions": len(created)})
    return created
