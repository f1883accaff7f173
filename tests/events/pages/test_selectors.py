"""One rule for what part of a meeting a person may read: `can_read_event_details`, and the search built on it."""

import pytest
from django.contrib.auth.models import AnonymousUser

from cms.pages.models import Audience
from events.pages.models import EventPage
from events.pages.selectors import can_read_event_details, event_search_filter, events_with_detail_access
from tests.events.factories import make_doctor, make_event
from tests.factories import user_with_role


@pytest.mark.django_db
def test_details_need_an_access_level_that_reaches_the_audience():
    verified, public, kol = (make_event(audience=a) for a in (Audience.VERIFIED, Audience.PUBLIC, Audience.KOL))
    people = {"anonymous": AnonymousUser(), "registered": user_with_role("doctor"),
              "pending": make_doctor(verified=False), "doctor": make_doctor(), "marketing": user_with_role("marketing")}
    expected = {"anonymous": (False, True, False), "registered": (False, True, False),
                "pending": (False, True, False), "doctor": (True, True, False), "marketing": (True, True, True)}
    for kind, user in people.items():
        assert tuple(can_read_event_details(user, e) for e in (verified, public, kol)) == expected[kind], kind
        pairs = events_with_detail_access(user=user, events=[verified, public, kol])
        assert tuple(full for _e, full in pairs) == expected[kind], kind


@pytest.mark.django_db
def test_search_finds_hidden_details_only_for_those_who_may_read_them():
    event = make_event(audience=Audience.VERIFIED, title="心衰城市会", description="<p>四联疗法循证</p>",
                       venue_name="静安香格里拉大酒店", city="上海市")

    def found(user, q):
        return list(EventPage.objects.filter(event_search_filter(user=user, q=q)).values_list("pk", flat=True))

    for q in ("四联疗法", "香格里拉"):
        assert found(AnonymousUser(), q) == [] and found(make_doctor(verified=False), q) == []
        assert found(make_doctor(), q) == [event.pk]
    assert found(AnonymousUser(), "心衰 上海") == [event.pk]  # title and city belong to the teaser
    assert found(make_doctor(), "心衰 北京") == []  # every word must match
