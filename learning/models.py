"""E-learning models, one module per area; Django and the migrations find them here."""

from learning.courses.models import (
    CompletionRule,
    CourseAudience,
    CourseCompletion,
    CourseIndexPage,
    CoursePage,
    LessonPage,
    LessonProgress,
)
from learning.exams.models import Attempt, AttemptQuestion, AttemptStatus, Exam, ExamDraw, ExamOverride, ExamQuestion
from learning.questions.models import (
    CompetencyKind,
    Difficulty,
    Question,
    QuestionCategory,
    QuestionKind,
    QuestionTag,
    QuestionVersion,
)

__all__ = [
    "Attempt", "AttemptQuestion", "AttemptStatus", "CompetencyKind", "CompletionRule", "CourseAudience",
    "CourseCompletion", "CourseIndexPage", "CoursePage", "Difficulty", "Exam", "ExamDraw", "ExamOverride",
    "ExamQuestion", "LessonPage", "LessonProgress", "Question", "QuestionCategory", "QuestionKind", "QuestionTag",
    "QuestionVersion",
]
