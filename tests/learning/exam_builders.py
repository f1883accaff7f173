"""Builders for the courses, question-bank and exams tests (not a test module).

    bank = make_bank(per_difficulty=5)           # a category tree with single/multiple/true-false/fill-in questions
    exam = make_exam(draws=[(bank.root, None, 10)], time_limit_minutes=30)
    rep = user_with_role("rep")
    course = make_course(exam=exam, lessons=2)    # published internal course with two lessons
    answer_all(attempt, right=True)              # saves a right (or wrong) answer to every question
"""

import itertools
from dataclasses import dataclass, field

from cms.pages.models import HomePage
from learning.courses.models import CourseIndexPage, CoursePage, LessonPage
from learning.exams.models import Attempt, Exam, ExamDraw, ExamQuestion
from learning.exams.services import attempt_answer
from learning.questions.models import CompetencyKind, Question, QuestionCategory, QuestionKind
from learning.questions.services import question_create
from tests.factories import user_with_role

_counter = itertools.count()


def bank_manager():
    return user_with_role("marketing")


def make_question(*, category, kind=QuestionKind.SINGLE, difficulty=2, text=None, actor=None) -> Question:
    actor = actor or bank_manager()
    n = next(_counter)
    text = text or f"问题 {n}"
    if kind == QuestionKind.FILL_IN:
        return question_create(actor=actor, category=category, kind=kind, text=text, accepted_answers=["ACE抑制剂"],
                               difficulty=difficulty, audit=False)
    if kind == QuestionKind.TRUE_FALSE:
        return question_create(actor=actor, category=category, kind=kind, text=text,
                               options=[{"key": "T", "correct": True}], difficulty=difficulty, audit=False)
    options = [{"text": f"选项{i}", "correct": i == 0 or (kind == QuestionKind.MULTIPLE and i == 2)}
               for i in range(4)]
    return question_create(actor=actor, category=category, kind=kind, text=text, options=options,
                           difficulty=difficulty, explanation="因为如此。", audit=False)


@dataclass
class Bank:
    root: QuestionCategory
    child: QuestionCategory
    other: QuestionCategory
    questions: list = field(default_factory=list)


def make_bank(*, per_difficulty: int = 4, kinds=(QuestionKind.SINGLE,)) -> Bank:
    """root (product) with a child category, and an unrelated compliance category; `per_difficulty` questions at
    each difficulty in root and in child (and in other)."""
    n = next(_counter)
    root = QuestionCategory.objects.create(name=f"产品知识{n}", kind="product")
    child = QuestionCategory.objects.create(name="适应症", parent=root, kind="product")
    other = QuestionCategory.objects.create(name=f"合规{n}", kind=CompetencyKind.COMPLIANCE)
    actor = bank_manager()
    bank = Bank(root, child, other)
    kinds_cycle = itertools.cycle(kinds)
    for category in (root, child, other):
        for difficulty in (1, 2, 3):
            for _i in range(per_difficulty):
                bank.questions.append(make_question(category=category, kind=next(kinds_cycle),
                                                    difficulty=difficulty, actor=actor))
    return bank


def make_exam(*, draws=(), fixed=(), **fields) -> Exam:
    defaults = {"title": f"考试 {next(_counter)}", "pass_mark_percent": 60, "attempts_allowed": 3}
    exam = Exam.objects.create(**{**defaults, **fields})
    for order, question in enumerate(fixed):
        ExamQuestion.objects.create(exam=exam, question=question, sort_order=order)
    for order, (category, difficulty, count) in enumerate(draws):
        ExamDraw.objects.create(exam=exam, category=category, difficulty=difficulty, count=count, sort_order=order)
    return exam


def course_index() -> CourseIndexPage:
    existing = CourseIndexPage.objects.first()
    if existing is not None:
        return existing
    index = CourseIndexPage(title="学习中心", slug="courses")
    HomePage.objects.get().add_child(instance=index)
    index.save_revision().publish()
    return index


def make_course(*, exam=None, lessons: int = 2, product=None, audience="reps", publish: bool = True,
                **fields) -> CoursePage:
    """A course with `lessons` lessons; a course about a product goes through the real review workflow."""
    n = next(_counter)
    course = CoursePage(title=f"课程 {n}", slug=f"course-{n}", final_exam=exam, product=product,
                        audience=audience, **fields)
    course_index().add_child(instance=course)
    pages = [course]
    for i in range(lessons):
        lesson = LessonPage(title=f"第{i + 1}课", slug=f"lesson-{i + 1}",
                            body=[("rich_text", f"<p>第{i + 1}课的内容</p>")])
        course.add_child(instance=lesson)
        pages.append(lesson)
    if publish:
        for page in pages:
            if product is not None:
                from tests.cms.factories import approve_and_publish

                approve_and_publish(page)
            else:
                page.save_revision().publish()
    course.refresh_from_db()
    return course


def right_answer(item) -> object:
    version, kind = item.version, item.question.kind
    if kind == QuestionKind.FILL_IN:
        return "ａｃｅ 抑制剂"  # full-width, a space, other case: still right
    keys = [o["key"] for o in version.options if o.get("correct")]
    return keys if kind == QuestionKind.MULTIPLE else keys[0]


def wrong_answer(item) -> object:
    version, kind = item.version, item.question.kind
    if kind == QuestionKind.FILL_IN:
        return "利尿剂"
    keys = [o["key"] for o in version.options if not o.get("correct")]
    return keys[:1] if kind == QuestionKind.MULTIPLE else keys[0]


def answer_all(attempt: Attempt, *, right: bool = True, how_many: int | None = None, now=None) -> None:
    items = list(attempt.questions.select_related("version", "question").order_by("position"))
    for item in items[:how_many]:
        attempt_answer(user=attempt.user, attempt_id=attempt.pk, position=item.position,
                       answer=right_answer(item) if right else wrong_answer(item), seq=1, now=now)
