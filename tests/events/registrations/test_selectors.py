"""Selectors: which meetings a person sees, access to a meeting, whose registrations are listed."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from engage.core.errors import NotFound
from events.pages.selectors import access_event, events_upcoming_for
from events.registrations.selectors import event_eligibility, registrations_of
from tests.events.factories import make_doctor, make_event, make_registration, make_rep, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def meetings():
    now = timezone.now()
    return {
        "public": make_event(audience="public", starts_at=now + timedelta(days=2)),
        "verified": make_event(audience="verified", starts_at=now + timedelta(days=1)),
        "kol": make_event(audience="kol", starts_at=now + timedelta(days=3)),
        "ended": make_event(audience="public", starts_at=now - timedelta(days=2)),
        "draft": make_event(audience="public", publish=False),
    }


@pytest.mark.parametrize("who,expected", [
    ("anonymous", ["public"]),
    ("pending", ["public"]),
    ("rep", ["public"]),
    ("verified", ["verified", "public"]),
    ("kol", ["verified", "public", "kol"]),
    ("staff", ["verified", "public", "kol"]),
])
def test_upcoming_meetings_by_reader(meetings, who, expected):
    user = {"anonymous": AnonymousUser, "pending": lambda: make_doctor(verified=False), "rep": make_rep,
            "verified": make_doctor, "kol": lambda: make_doctor(kol=True), "staff": make_staff}[who]()
    names = {event.pk: name for name, event in meetings.items()}
    assert [names[e.pk] for e in events_upcoming_for(user=user)] == expected
    assert len(events_upcoming_for(user=user, limit=1)) == 1


def test_access_event(meetings):
    doctor = make_doctor(verified=False)
    # A live meeting is reachable by everyone; eligibility decides who registers.
    assert access_event(user=doctor, event_id=meetings["kol"].pk) == meetings["kol"]
    assert not event_eligibility(user=doctor, event=meetings["kol"]).ok
    for bad in (meetings["draft"].pk, 999_999, "x", None, "1 OR 1=1"):
        with pytest.raises(NotFound):
            access_event(user=doctor, event_id=bad)
    assert access_event(user=make_staff(), event_id=meetings["draft"].pk) == meetings["draft"]


def test_registrations_of_lists_only_the_doctors_own(meetings):
    doctor, other = make_doctor(), make_doctor()
    mine = make_registration(meetings["verified"], doctor)
    make_registration(meetings["verified"], other)
    assert list(registrations_of(doctor=doctor)) == [mine]
