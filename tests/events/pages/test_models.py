"""Meeting authoring: the page's validation, the academic share of the agenda against the configurable floor, and
the admin of speakers, frequency rules and meeting settings."""

from datetime import time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from events.pages.models import EventPage, EventSettings, Speaker
from events.pages.selectors import agenda_minutes, event_academic_share
from events.registrations.models import FrequencyRule
from tests.events.factories import make_doctor, make_event, make_registration, make_staff

pytestmark = pytest.mark.django_db


def _page(**fields) -> EventPage:
    starts = timezone.now() + timedelta(days=7)
    values = {"title": "学术会议", "slug": "m", "topic": "主题", "starts_at": starts,
              "ends_at": starts + timedelta(hours=2), "capacity": 50}
    values.update(fields)
    return EventPage(**values)


def _errors(page: EventPage) -> dict:
    with pytest.raises(ValidationError) as error:
        page.clean()
    return error.value.message_dict


def test_a_sane_meeting_is_valid():
    starts = timezone.now() + timedelta(days=7)
    _page(starts_at=starts, ends_at=starts + timedelta(hours=3),
          registration_opens_at=starts - timedelta(days=20), registration_closes_at=starts,
          cancellation_deadline=starts - timedelta(days=1), checkin_closes_at=starts + timedelta(hours=1),
          venue_latitude="31.2", venue_longitude="121.4", audience_titles=["chief", "attending"],
          audience_provinces=["上海市", "四川省"]).clean()


@pytest.mark.parametrize("hours", [0, -1])
def test_the_meeting_must_end_after_it_starts(hours):
    starts = timezone.now()
    assert "ends_at" in _errors(_page(starts_at=starts, ends_at=starts + timedelta(hours=hours)))


def test_the_registration_window_lies_before_the_end():
    starts = timezone.now() + timedelta(days=3)
    ends = starts + timedelta(hours=2)
    errors = _errors(_page(starts_at=starts, ends_at=ends, registration_closes_at=ends + timedelta(minutes=1)))
    assert "registration_closes_at" in errors
    errors = _errors(_page(starts_at=starts, ends_at=ends, registration_opens_at=starts - timedelta(days=1),
                           registration_closes_at=starts - timedelta(days=2)))
    assert "registration_closes_at" in errors
    assert "registration_opens_at" in _errors(_page(starts_at=starts, ends_at=ends, registration_opens_at=ends))


def test_the_cancellation_deadline_is_sane():
    starts = timezone.now() + timedelta(days=3)
    page = _page(starts_at=starts, ends_at=starts + timedelta(hours=2),
                 cancellation_deadline=starts + timedelta(minutes=30))
    assert "cancellation_deadline" in _errors(page)
    page = _page(starts_at=starts, ends_at=starts + timedelta(hours=2),
                 registration_opens_at=starts - timedelta(days=1), cancellation_deadline=starts - timedelta(days=2))
    assert "cancellation_deadline" in _errors(page)


def test_check_in_closes_after_the_start():
    starts = timezone.now() + timedelta(days=3)
    page = _page(starts_at=starts, ends_at=starts + timedelta(hours=2), checkin_closes_at=starts)
    assert "checkin_closes_at" in _errors(page)


@pytest.mark.parametrize("lat, lon", [("31.2", None), (None, "121.4")])
def test_coordinates_both_or_neither(lat, lon):
    errors = _errors(_page(venue_latitude=lat, venue_longitude=lon))
    assert "venue_latitude" in errors and "venue_longitude" in errors


@pytest.mark.parametrize("field, value", [
    ("audience_titles", ["professor"]),
    ("audience_titles", ["chief", "<script>"]),
    ("audience_titles", "chief"),
    ("audience_titles", [1, 2]),
    ("audience_titles", {"chief": True}),
    ("audience_provinces", ["上海"]),
    ("audience_provinces", ["上海市", "x" * 10_000]),
    ("audience_provinces", [None]),
])
def test_titles_and_provinces_must_be_known_values(field, value):
    assert field in _errors(_page(**{field: value}))


def test_empty_audience_lists_mean_everyone():
    page = _page(audience_titles=None, audience_provinces="")
    page.clean()
    assert page.audience_titles == [] and page.audience_provinces == []


def test_capacity_cannot_drop_below_the_seats_taken():
    event = make_event(capacity=5)
    for _ in range(3):
        make_registration(event, make_doctor())
    event.capacity = 2
    assert "capacity" in _errors(event)
    event.capacity = 3
    event.clean()


def test_several_errors_are_reported_together():
    starts = timezone.now()
    errors = _errors(_page(starts_at=starts, ends_at=starts, venue_latitude="1", audience_titles=["x"]))
    assert {"ends_at", "venue_latitude", "venue_longitude", "audience_titles"} <= set(errors)


def _agenda(*items):
    return [("item", {"start_time": time(9, 0), "title": title, "speaker": None, "minutes": minutes,
                      "academic": academic}) for title, minutes, academic in items]


def test_agenda_minutes_count_academic_items():
    event = _page(agenda=_agenda(("指南解读", 40, True), ("茶歇", 20, False), ("病例讨论", 30, True)))
    assert agenda_minutes(event.agenda) == (70, 90)
    share = event_academic_share(event=event)
    assert (share.percent, share.floor, share.below_floor) == (77, 60, False)


def test_a_share_under_the_configured_floor_warns():
    event = _page(agenda=_agenda(("产品介绍", 30, False), ("工作午餐", 40, False), ("病例讨论", 30, True)))
    share = event_academic_share(event=event)
    assert share.percent == 30 and share.below_floor
    EventSettings.objects.create(academic_minutes_floor=25)
    assert not event_academic_share(event=event).below_floor
    assert event_academic_share(event=event, floor=31).below_floor


def test_the_floor_is_exclusive_and_an_empty_agenda_is_below_it():
    event = _page(agenda=_agenda(("讲座", 60, True), ("午餐", 40, False)))
    assert not event_academic_share(event=event).below_floor  # exactly 60 %
    assert event_academic_share(event=_page(agenda=[])).below_floor
    assert not event_academic_share(event=_page(agenda=[]), floor=0).below_floor


def test_malformed_agenda_items_are_ignored():
    assert agenda_minutes([{"minutes": "abc", "academic": True}, {"minutes": -5, "academic": True},
                           {"minutes": 10, "academic": False}, None, "garbage"]) == (0, 10)


@pytest.mark.parametrize("role", ["marketing", "medical_reviewer"])
def test_the_editor_shows_authors_and_reviewers_the_share_with_a_warning(client, role):
    from cms.review.services import content_submit_for_review

    event = make_event(publish=False, agenda=_agenda(("产品介绍", 50, False), ("讲座", 50, True)))
    content_submit_for_review(page=EventPage.objects.get(pk=event.pk), user=None)
    client.force_login(make_staff(role))
    response = client.get(reverse("wagtailadmin_pages:edit", args=[event.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="academic-share"' in html
    assert 'data-percent="50"' in html and 'data-below-floor="1"' in html


def test_marketing_manages_speakers_and_doctors_cannot(client):
    client.force_login(make_staff("marketing"))
    response = client.post(reverse("wagtailsnippets_events_speaker:add"),
                           {"name": "王建国", "hospital": "北京协和医院", "title": "主任医师", "bio": ""})
    assert response.status_code == 302
    assert Speaker.objects.filter(name="王建国").exists()
    assert client.get(reverse("wagtailsnippets_events_speaker:list")).status_code == 200
    assert client.get(reverse("wagtailsnippetchoosers_events_speaker:choose")).status_code == 200
    client.force_login(make_doctor())
    assert client.get(reverse("wagtailsnippets_events_speaker:list")).status_code in (302, 403)


def test_compliance_sets_frequency_rules_and_marketing_only_reads_them(client):
    data = {"event_type": "city", "max_meetings": 2, "period": "quarter", "action": "block", "active": "on"}
    client.force_login(make_staff("marketing"))
    assert client.get(reverse("wagtailsnippets_events_frequencyrule:list")).status_code == 200
    assert client.post(reverse("wagtailsnippets_events_frequencyrule:add"), data).status_code in (302, 403)
    assert not FrequencyRule.objects.exists()
    client.force_login(make_staff("compliance"))
    assert client.post(reverse("wagtailsnippets_events_frequencyrule:add"), data).status_code == 302
    assert FrequencyRule.objects.get().max_meetings == 2


def test_the_meetings_menu_groups_pages_speakers_and_rules(client):
    index = make_event().get_parent()
    client.force_login(make_staff("admin"))
    html = client.get(reverse("wagtailadmin_home")).content.decode()
    assert reverse("wagtailsnippets_events_speaker:list") in html
    assert reverse("wagtailsnippets_events_frequencyrule:list") in html
    assert reverse("wagtailadmin_explore", args=[index.pk]) in html


def test_the_floor_setting_is_validated(client):
    admin = make_staff("admin", is_superuser=True)
    client.force_login(admin)
    url = reverse("wagtailsettings:edit", args=["events", "eventsettings", EventSettings.load().pk])
    assert client.post(url, {"academic_minutes_floor": 101}).status_code == 200  # form error
    assert EventSettings.academic_floor() == 60
    assert client.post(url, {"academic_minutes_floor": 70}).status_code == 302
    assert EventSettings.academic_floor() == 70
