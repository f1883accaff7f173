"""Lesson progress API for the lesson pages: visible time and resume position, and completing a lesson.

Mounted at /api/v1/learning. Session (with CSRF) or bearer token.
"""

from datetime import datetime

from ninja import Router, Schema
from pydantic import Field

from engage.core.schemas import InputSchema
from learning.courses.selectors import access_lesson
from learning.courses.services import lesson_complete, lesson_heartbeat

router = Router(tags=["courses"])


class ErrorOut(Schema):
    code: str
    message: str


class ProgressIn(InputSchema):
    seconds: int = Field(ge=0, le=3600, description="Visible seconds since the last report (capped by the server)")
    position: str = Field(default="", max_length=200, description="Where to resume, e.g. a video time")


class ProgressOut(Schema):
    lesson_id: int
    seconds_spent: int
    position: str
    completed_at: datetime | None


def _out(progress) -> dict:
    return {"lesson_id": progress.lesson_id, "seconds_spent": progress.seconds_spent, "position": progress.position,
            "completed_at": progress.completed_at}


@router.post("/lessons/{int:lesson_id}/progress", response={200: ProgressOut, 403: ErrorOut, 404: ErrorOut,
                                                             409: ErrorOut}, summary="Report lesson time")
def progress(request, lesson_id: int, payload: ProgressIn):
    lesson = access_lesson(user=request.user, lesson_id=lesson_id)
    return _out(lesson_heartbeat(user=request.user, lesson=lesson, seconds=payload.seconds,
                                 position=payload.position))


@router.post("/lessons/{int:lesson_id}/complete", response={200: ProgressOut, 403: ErrorOut, 404: ErrorOut,
                                                             409: ErrorOut}, summary="Complete a lesson")
def complete(request, lesson_id: int):
    lesson = access_lesson(user=request.user, lesson_id=lesson_id)
    return _out(lesson_complete(user=request.user, lesson=lesson))
