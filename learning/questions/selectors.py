"""Reads of the question bank: the category tree, what an exam may draw from, who may manage the bank."""

from engage.core.errors import NotFound, PermissionDenied
from engage.core.roles import Capability, can
from learning.questions.models import Question, QuestionCategory


def can_manage_question_bank(user) -> bool:
    return can(user, Capability.MANAGE_LEARNING)


def access_question(*, user, question_id: int) -> Question:
    from django.utils.translation import gettext as _

    if not can_manage_question_bank(user):
        raise PermissionDenied("forbidden", _("You may not edit the question bank."))
    question = Question.objects.select_related("current_version", "category").filter(pk=question_id).first()
    if question is None:
        raise NotFound("not_found", _("Not found."))
    return question


def category_descendants(category_ids: list[int], *, tree: dict[int, list[int]] | None = None) -> set[int]:
    """The categories and all their subcategories (one query for the whole tree unless `tree` is given)."""
    if tree is None:
        tree = {}
        for pk, parent_id in QuestionCategory.objects.values_list("id", "parent_id"):
            tree.setdefault(parent_id, []).append(pk)
    found, stack = set(), list(category_ids)
    while stack:
        pk = stack.pop()
        if pk not in found:
            found.add(pk)
            stack.extend(tree.get(pk, []))
    return found


def category_paths() -> dict[int, str]:
    """`id → "产品 / 子类"` for every category: the Excel import and export name categories by path."""
    rows = {pk: (name, parent) for pk, name, parent in QuestionCategory.objects.values_list("id", "name", "parent_id")}

    def path(pk: int, depth: int = 0) -> str:
        name, parent = rows[pk]
        return f"{path(parent, depth + 1)} / {name}" if parent and depth < 20 else name

    return {pk: path(pk) for pk in rows}
