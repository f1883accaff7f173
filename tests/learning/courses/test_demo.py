import pytest

from cms.pages.models import Product
from learning.courses.demo import seed_learning
from learning.courses.models import CoursePage, LessonPage
from learning.exams.models import Exam
from learning.exams.services import attempt_start
from learning.questions.models import Question, QuestionCategory
from members.hospitals.models import TherapyArea
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


def test_demo_courses_bank_and_exams_and_idempotence():
    area = TherapyArea.objects.first() or TherapyArea.objects.create(name="糖尿病", code="diabetes")
    Product.objects.create(name="格华止", generic_name="二甲双胍", therapy_area=area)
    Product.objects.create(name="拜新同", generic_name="硝苯地平", therapy_area=area)
    created = seed_learning()
    assert created["courses"] == 3 and created["exams"] == 3
    courses = CoursePage.objects.live()
    assert courses.count() == 3
    assert {c.approval_code.startswith("CN-") for c in courses.filter(product__isnull=False)} == {True}
    assert LessonPage.objects.live().count() == 8
    compliance = QuestionCategory.objects.get(name="合规", parent=None)
    assert Question.objects.filter(category__parent=compliance).count() == 100
    exam = Exam.objects.get(title="年度合规考试")
    attempt = attempt_start(user=user_with_role("rep"), exam_id=exam.pk)
    assert attempt.questions.count() == 30
    assert sum(seed_learning().values()) == 0
