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
    "CheckIn",
    "EventIndexPage",
    "EventPage",
    "EventSettings",
    "EventType",
    "FrequencyRule",
    "LiveSession",
    "Photo",
    "PhotoFlag",
    "Poll",
    "PollChoice",
    "PollOption",
    "PollVote",
    "Question",
    "QuestionVote",
    "Quota",
    "Registration",
    "RepInvitation",
    "RoomSanction",
    "Scan",
    "Speaker",
    "StreamCallback",
    "Survey",
    "SurveyAnswer",
    "SurveyParticipation",
    "SurveyQuestion",
    "SurveyResponse",
    "Ticket",
]
