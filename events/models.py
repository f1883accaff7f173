"""Meetings: pages and speakers, quotas and registrations, tickets and check-ins, photos, surveys, live sessions."""

from events.checkin.models import CheckIn, Scan
from events.live.models import (
    Attendance,
    BannedWord,
    ChatMessage,
    LiveSession,
    Poll,
    PollChoice,
    PollOption,
    PollVote,
    Question,
    QuestionVote,
    RoomSanction,
    StreamCallback,
)
from events.pages.models import EventIndexPage, EventPage, EventSettings, EventType, Speaker
from events.photos.models import Photo, PhotoFlag
from events.registrations.models import FrequencyRule, Quota, Registration, RepInvitation, Ticket
from events.surveys.models import Survey, SurveyAnswer, SurveyParticipation, SurveyQuestion, SurveyResponse

__all__ = [
    "Attendance",
    "BannedWord",
    "ChatMessage",
    "LiveSession",
    "Poll",
    "PollChoice",
    "PollOption",
    "PollVote",
    "Question",
    "QuestionVote",
    "RoomSanction",
    "StreamCallback",
    "CheckIn",
    "EventIndexPage",
    "EventPage",
    "EventSettings",
    "EventType",
    "FrequencyRule",
    "Photo",
    "PhotoFlag",
    "Quota",
    "Registration",
    "RepInvitation",
    "Scan",
    "Speaker",
    "Survey",
    "SurveyAnswer",
    "SurveyParticipation",
    "SurveyQuestion",
    "SurveyResponse",
    "Ticket",
]
