"""GET /api/v1/events and /api/v1/events/{id}: the teaser or the whole meeting, decided like the meeting page."""

import pytest

from cms.pages.models import Audience
from tests.events.factories import make_doctor, make_event
from tests.events.pages.test_views import DETAIL_WORDS, _detailed_meeting, reader

DETAIL_KEYS = ("topic", "description", "venue_name", "venue_address", "agenda", "speakers")


def _get(client, user, url):
    if user is not None:
        client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("kind, reason", [("anonymous", "sign_in"), ("registered", "complete_profile"),
                                          ("pending", "await_verification")])
def test_the_detail_of_a_verified_doctors_meeting_is_a_teaser_for_others(client, kind, reason):
    event = _detailed_meeting()
    data = _get(client, reader(kind), f"/api/v1/events/{event.pk}")
    assert data["gated"] is True and data["gate"]["reason"] == reason
    assert data["title"] == "心衰城市会" and data["city"] == "上海市" and data["starts_at"].startswith("2031-03-14")
    assert all(data[key] is None for key in DETAIL_KEYS)
    body = str(data)
    for hidden in DETAIL_WORDS:
        assert hidden not in body, hidden


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["doctor", "marketing"])
def test_verified_doctors_and_staff_get_the_whole_meeting(client, kind):
    event = _detailed_meeting()
    data = _get(client, reader(kind), f"/api/v1/events/{event.pk}")
    assert data["gated"] is False and data["gate"] is None
    assert data["topic"] == "四联疗法" and "会议介绍" in data["description"]
    assert data["venue_name"] == "静安香格里拉大酒店" and data["venue_address"] == "延安中路1218号"
    assert data["agenda"] == [{"start_time": "14:00", "title": "指南解读", "minutes": 40, "academic": True,
                               "speaker": "王建国"}]
    assert data["speakers"] == [{"name": "王建国", "title": "主任医师", "hospital": "北京协和医院"}]


@pytest.mark.django_db
def test_a_public_meeting_is_whole_for_anonymous_callers(client):
    event = make_event(audience=Audience.PUBLIC, description="<p>会议介绍</p>")
    data = _get(client, None, f"/api/v1/events/{event.pk}")
    assert data["gated"] is False and "会议介绍" in data["description"]


@pytest.mark.django_db
@pytest.mark.parametrize("event_id", ["999999", "0"])
def test_an_unknown_meeting_is_404(client, event_id):
    response = client.get(f"/api/v1/events/{event_id}")
    assert response.status_code == 404 and response.json()["code"] == "event_not_found"


@pytest.mark.django_db
def test_a_draft_meeting_is_404_for_doctors(client):
    event = make_event(publish=False)
    client.force_login(make_doctor())
    assert client.get(f"/api/v1/events/{event.pk}").status_code == 404


@pytest.mark.django_db
def test_the_list_searches_meetings_and_stays_fast(client, django_assert_max_num_queries):
    wanted = _detailed_meeting()
    make_event(title="肿瘤论坛", city="北京市")
    doctor = make_doctor()
    client.force_login(doctor)
    _get(client, None, "/api/v1/events")  # warm caches (content types, settings)
    with django_assert_max_num_queries(12):
        data = _get(client, None, "/api/v1/events?q=静安香格里拉")
    assert [item["id"] for item in data["results"]] == [wanted.pk]
    assert data["results"][0]["speakers"][0]["name"] == "王建国"
    assert _get(client, None, "/api/v1/events?q=北京市")["count"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["?page=0", "?q=" + "x" * 201, "?month=2031-13", "?type=party", "?area=A B"])
def test_bad_list_filters_are_422(client, query):
    response = client.get("/api/v1/events" + query)
    assert response.status_code == 422 and response.json()["code"] == "invalid_input"
