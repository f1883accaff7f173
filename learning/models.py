"""E-learning models, one module per area; Django and the migrations find them here."""

from learning.assignments.models import (
    Assignment,
    AssignmentAudience,
    Curriculum,
    CurriculumCourse,
    DueRule,
    ProductRequirement,
    RepAssignment,
)
from learning.certificates.models import Certificate, CertificateStatus
from learning.competencies.models import CompetencySnapshot
from learning.courses.models import (
    CompletionRule,
    CourseAudience,
    CourseCompletion,
    CourseExpiryNotice,
    CourseIndexPage,
    CoursePage,
    LessonPage,
    LessonProgress,
)
from learning.exams.models import Attempt, AttemptQuestion, AttemptStatus, Exam, ExamDraw, ExamOverride, ExamQuestion
from learning.knowledge.models import (
    KnowledgeEntryPage,
    KnowledgeIndexPage,
    KnowledgeKind,
    KnowledgeQuestion,
    KnowledgeSearchTerm,
    QuestionStatus,
)
from learning.questions.models import (
    CompetencyKind,
    Difficulty,
    Question,
    QuestionCategory,
    QuestionKind,
    QuestionTag,
    QuestionVersion,
)
from learning.scorm.models import LessonStatus, ScormCommit, ScormPackage, ScormRegistration

__all__ = [  # noqa: RUF022
    "Assignment", "AssignmentAudience", "Certificate", "CertificateStatus", "CompetencySnapshot", "Curriculum",
    "CurriculumCourse", "DueRule", "ProductRequirement", "RepAssignment",
    "KnowledgeEntryPage", "KnowledgeIndexPage", "KnowledgeKind", "KnowledgeQuestion", "KnowledgeSearchTerm",
    "QuestionStatus", "LessonStatus", "ScormCommit", "ScormPackage", "ScormRegistration",
    "Attempt", "AttemptQuestion", "AttemptStatus", "CompetencyKind", "CompletionRule", "CourseAudience",
    "CourseCompletion", "CourseExpiryNotice", "CourseIndexPage", "CoursePage", "Difficulty", "Exam", "ExamDraw",
    "ExamOverride",
    "ExamQuestion", "LessonPage", "LessonProgress", "Question", "QuestionCategory", "QuestionKind", "QuestionTag",
    "QuestionVersion",
]
