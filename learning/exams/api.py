"""Exam API for the phone pages and apps: start (or resume) an attempt, save each answer as it is given, submit.

Mounted at /api/v1/learning. Session (with CSRF) or bearer token; errors come back as {"code", "message"}:
409 `deadline_passed` / `attempt_closed` / `no_attempts_left` / `attempt_too_soon`, 422 `invalid_answer`.
"""

from datetime import datetime
from decimal import Decimal

from ninja import Router, Schema, Status
from pydantic import Field

from engage.core.schemas import InputSchema
from learning.exams.selectors import access_attempt, attempt_questions, review_visible
from learning.exams.services import attempt_answer, attempt_start, attempt_submit

router = Router(tags=["exams"])


class ErrorOut(Schema):
    code: str
    message: str


class OptionOut(Schema):
    key: str
    text: str


class QuestionOut(Schema):
    position: int
    kind: str
    text: str
    options: list[OptionOut]
    answer: str | list[str] | None = None
    seq: int


class AttemptOut(Schema):
    attempt_id: int
    exam_id: int
    number: int
    status: str
    started_at: datetime
    deadline: datetime | None
    questions: list[QuestionOut]


class AnswerIn(InputSchema):
    answer: str | list[str] | None = Field(description="An option key, a list of keys (multiple choice), the text "
                                                       "(fill in the blank), or null to clear")
    seq: int = Field(default=0, ge=0, le=2_000_000_000,
                     description="The client's counter for this question: a save with a lower one is ignored")


class AnswerOut(Schema):
    position: int
    answer: str | list[str] | None = None
    seq: int
    saved_at: datetime | None


class ResultOut(Schema):
    attempt_id: int
    status: str
    score: Decimal | None
    max_score: Decimal
    percent: Decimal | None
    passed: bool | None
    review: bool


def _attempt_out(attempt) -> dict:
    return {"attempt_id": attempt.pk, "exam_id": attempt.exam_id, "number": attempt.number, "status": attempt.status,
            "started_at": attempt.started_at, "deadline": attempt.deadline,
            "questions": [{"position": q.position, "kind": q.kind, "text": q.text,
                           "options": [{"key": o.key, "text": o.text} for o in q.options],
                           "answer": q.answer, "seq": q.answer_seq} for q in attempt_questions(attempt=attempt)]}


@router.post("/exams/{int:exam_id}/attempts", response={201: AttemptOut, 403: ErrorOut, 404: ErrorOut,
                                                         409: ErrorOut}, summary="Start or resume an attempt")
def start(request, exam_id: int):
    """Starts an attempt at the exam, or returns the open one (a reload or a second tab resumes it)."""
    attempt = attempt_start(user=request.user, exam_id=exam_id)
    return Status(201, _attempt_out(attempt))


@router.get("/attempts/{int:attempt_id}", response={200: AttemptOut, 404: ErrorOut}, summary="An attempt")
def attempt_detail(request, attempt_id: int):
    return _attempt_out(access_attempt(user=request.user, attempt_id=attempt_id))


@router.put("/attempts/{int:attempt_id}/answers/{int:position}",
            response={200: AnswerOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}, summary="Save one answer")
def answer(request, attempt_id: int, position: int, payload: AnswerIn):
    """Saves the answer as given; idempotent. 409 `deadline_passed` after the deadline plus grace."""
    item = attempt_answer(user=request.user, attempt_id=attempt_id, position=position, answer=payload.answer,
                          seq=payload.seq)
    return {"position": item.position, "answer": item.answer, "seq": item.answer_seq, "saved_at": item.answered_at}


@router.post("/attempts/{int:attempt_id}/submit", response={200: ResultOut, 404: ErrorOut},
             summary="Submit an attempt")
def submit(request, attempt_id: int):
    """Grades the attempt once; a repeated submit answers with the same result."""
    attempt = attempt_submit(user=request.user, attempt_id=attempt_id)
    return {"attempt_id": attempt.pk, "status": attempt.status, "score": attempt.score,
            "max_score": attempt.max_score, "percent": attempt.percent, "passed": attempt.passed,
            "review": review_visible(attempt)}
