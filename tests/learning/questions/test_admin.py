import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import Workbook

from engage.audit.models import AuditEntry
from learning.exams.models import ExamOverride
from learning.questions.exporters import HEADERS
from learning.questions.models import Question, QuestionCategory
from tests.factories import user_with_role
from tests.learning.exam_builders import make_bank, make_exam

pytestmark = pytest.mark.django_db


def _client(role):
    client = Client()
    client.force_login(user_with_role(role))
    return client


def test_import_view_lists_every_problem_and_imports_nothing():
    QuestionCategory.objects.create(name="合规")
    book = Workbook()
    book.active.append(HEADERS)
    book.active.append(["合规", "单选", "2", "题目", "甲", "乙", *[""] * 6, "A", "", ""])
    book.active.append(["没有", "单选", "2", "题目", "甲", "乙", *[""] * 6, "C", "", ""])
    buffer = io.BytesIO()
    book.save(buffer)
    upload = SimpleUploadedFile("bank.xlsx", buffer.getvalue())
    response = _client("marketing").post("/admin/learning/question-files/", {"file": upload})
    assert response.status_code == 200
    assert b'data-testid="question-import-errors"' in response.content
    assert "没有".encode() in response.content and "正确答案".encode() in response.content
    assert not Question.objects.exists()


def test_question_admin_edits_through_the_service():
    bank = make_bank(per_difficulty=1)
    question = bank.questions[0]
    client = _client("marketing")
    response = client.post(f"/admin/learning_questions/edit/{question.pk}/", {
        "category": bank.root.pk, "difficulty": 3, "is_active": "on", "text": "改过的题目",
        "options_text": "*甲\n乙\n丙", "accepted_text": "", "explanation": "说明"})
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.current_version.text == "改过的题目" and question.difficulty == 3
    assert AuditEntry.objects.filter(action="learning.question_update").exists()


def test_override_admin_grants_through_the_audited_service():
    bank = make_bank(per_difficulty=1)
    exam = make_exam(draws=[(bank.root, None, 1)])
    rep = user_with_role("rep")
    response = _client("compliance").post("/admin/learning_exam_overrides/new/", {
        "exam": exam.pk, "user": rep.pk, "extra_minutes": 15, "extra_attempts": 1, "reason": "网络故障"})
    assert response.status_code == 302
    override = ExamOverride.objects.get()
    assert override.extra_minutes == 15 and override.granted_by is not None
    assert AuditEntry.objects.get(action="learning.exam_override").reason == "网络故障"
