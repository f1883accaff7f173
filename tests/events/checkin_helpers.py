"""Shared builders for the check-in tests (test_checkin*, test_self_checkin*, test_live*)."""

from datetime import timedelta

from django.utils import timezone

from members.models import PointsRule
from tests.events.factories import make_doctor, make_event, make_registration

CHECKIN_URL = "/api/v1/events/{}/checkins"


def open_event(**fields):
    """A meeting starting in 30 minutes: check-in (open 60 minutes before the start) is open now."""
    fields.setdefault("starts_at", timezone.now() + timedelta(minutes=30))
    return make_event(**fields)


def ticket_for(event, doctor=None, **profile):
    """A confirmed registration's ticket for a new verified doctor (or `doctor`)."""
    return make_registration(event, doctor or make_doctor(**profile)).ticket


def attend_rule(points: int = 50) -> PointsRule:
    rule, _ = PointsRule.objects.update_or_create(code="attend_meeting", defaults={
        "name": "参加学术会议", "points": points, "daily_cap": None, "yearly_cap": None, "enabled": True,
        "active_from": None, "active_until": None})
    return rule


def post_checkin(client, event, **payload):
    return client.post(CHECKIN_URL.format(event.pk), payload, content_type="application/json")
