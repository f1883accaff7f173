"""Meetings: pages and speakers, quotas and registrations, tickets and check-ins, photos, surveys."""

from .checkins import CheckIn, Scan
from .pages import EventIndexPage, EventPage, EventType, Speaker
from .photos import Photo, PhotoFlag
from .registrations import FrequencyRule, Quota, Registration, Ticket
from .settings import EventSettings
from .surveys import Survey, SurveyAnswer, SurveyParticipation, SurveyQuestion, SurveyResponse

__all__ = [
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
    "Scan",
    "Speaker",
    "Survey",
    "SurveyAnswer",
    "SurveyParticipation",
    "SurveyQuestion",
    "SurveyResponse",
    "Ticket",
]
