"""The doctor-facing meeting pages: where they may be created, the admin creating one, what the index and the
meeting page show to anonymous, unverified and verified people, and the home page's upcoming meetings."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from wagtail.test.utils import WagtailPageTestCase
from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

from cms.pages.models import Audience, HomePage, TherapyAreaPage
from events.pages.models import EventIndexPage, EventPage, Speaker
from members.hospitals.models import TherapyArea
from tests.events.factories import make_doctor, make_event, make_event_index, make_registration, publish_event
from tests.factories import UserFactory, user_with_role

SHANGHAI = ZoneInfo("Asia/Shanghai")


class TestPageTree(WagtailPageTestCase):
    def test_meetings_live_under_the_index_under_home(self):
        self.assertAllowedParentPageTypes(EventIndexPage, {HomePage})
        self.assertAllowedSubpageTypes(EventIndexPage, {EventPage})
        self.assertAllowedParentPageTypes(EventPage, {EventIndexPage})
        self.assertCanCreateAt(HomePage, EventIndexPage)
        self.assertCanNotCreateAt(HomePage, EventPage)
        self.assertCanNotCreateAt(TherapyAreaPage, EventPage)


class TestAdminCreatesMeetings(WagtailPageTestCase):
    def setUp(self):
        super().setUp()
        admin = UserFactory(is_superuser=True, is_staff=True)
        admin.groups.add(Group.objects.get(name="admin"))
        self.client.force_login(admin)
        self.index = make_event_index()
        self.speaker = Speaker.objects.create(name="王建国", hospital="北京协和医院")

    def _form(self, **overrides):
        starts = timezone.localtime() + timedelta(days=10)
        data = nested_form_data({
            "title": "糖尿病城市会", "slug": "diabetes-city", "event_type": "city", "topic": "血糖管理",
            "description": rich_text("<p>会议介绍</p>"),
            "agenda": streamfield([
                ("item", {"start_time": "14:00", "title": "指南解读", "speaker": self.speaker.pk, "minutes": 40,
                          "academic": "on"}),
                ("item", {"start_time": "14:40", "title": "茶歇", "speaker": "", "minutes": 20}),
            ]),
            "venue_name": "上海国际会议中心", "venue_address": "滨江大道2727号", "province": "上海市",
            "city": "上海市", "venue_latitude": "31.2397", "venue_longitude": "121.4998", "venue_radius_m": 500,
            "online_url": "", "starts_at": starts.strftime("%Y-%m-%d %H:%M"),
            "ends_at": (starts + timedelta(hours=3)).strftime("%Y-%m-%d %H:%M"), "capacity": 80,
            "registration_opens_at": "", "registration_closes_at": "", "cancellation_deadline": "",
            "checkin_opens_minutes": 60, "checkin_closes_at": "", "audience": "verified", "budget": "50000",
            **overrides,
        })
        data["speakers"] = [self.speaker.pk]
        data["audience_titles"] = ["chief", "associate_chief"]
        data["audience_provinces"] = ["上海市"]
        return data

    def test_marketing_creates_a_meeting_as_a_draft(self):
        self.assertCanCreate(self.index, EventPage, self._form(), publish=False)
        page = EventPage.objects.get(slug="diabetes-city")
        self.assertFalse(page.live)  # goes live only through review (tests/events/test_event_review.py)
        self.assertEqual(page.audience_titles, ["chief", "associate_chief"])
        self.assertEqual(page.audience_provinces, ["上海市"])
        self.assertEqual([b.value["minutes"] for b in page.agenda], [40, 20])
        self.assertEqual([b.value["academic"] for b in page.agenda], [True, False])
        self.assertEqual(list(page.speakers.all()), [self.speaker])

    def test_the_form_refuses_invalid_meetings(self):
        from django.urls import reverse

        url = reverse("wagtailadmin_pages:add", args=["events", "eventpage", self.index.pk])
        for overrides in ({"ends_at": "2020-01-01 10:00"}, {"venue_longitude": ""}):
            response = self.client.post(url, self._form(**overrides))
            self.assertEqual(response.status_code, 200)
            self.assertFalse(EventPage.objects.filter(slug="diabetes-city").exists())
        data = self._form()
        data["audience_titles"] = ["dean"]
        self.assertEqual(self.client.post(url, data).status_code, 200)
        self.assertFalse(EventPage.objects.exists())


    def test_the_form_refuses_a_capacity_below_the_allocated_seats(self):
        from django.urls import reverse

        from tests.events.factories import make_quota

        event = make_event(capacity=10)
        make_quota(event, seats=4, province="江苏省")
        for _ in range(3):
            make_registration(event, make_doctor())
        url = reverse("wagtailadmin_pages:edit", args=[event.pk])
        response = self.client.post(url, self._form(slug=event.slug, capacity=6))
        self.assertEqual(response.status_code, 200)
        self.assertIn("7", response.context["form"].errors["capacity"][0])
        self.assertEqual(self.client.post(url, self._form(slug=event.slug, capacity=7)).status_code, 302)
        self.assertEqual(EventPage.objects.get(pk=event.pk).get_latest_revision().content["capacity"], 7)


def _agenda():
    return [
        ("item", {"start_time": time(14, 0), "title": "指南解读", "speaker": None, "minutes": 40, "academic": True}),
        ("item", {"start_time": time(14, 40), "title": "工作午餐", "speaker": None, "minutes": 30,
                  "academic": False}),
    ]


@pytest.fixture
def meeting(db):
    starts = datetime(2031, 3, 14, 2, 0, tzinfo=ZoneInfo("UTC"))  # 10:00 in Shanghai
    return make_event(title="心衰城市会", topic="四联疗法", agenda=_agenda(), capacity=50, starts_at=starts,
                      ends_at=starts + timedelta(hours=3), venue_latitude="31.222636",
                      venue_longitude="121.449486", venue_name="静安香格里拉大酒店")


def _page(client, user, page):
    if user is not None:
        client.force_login(user)
    response = client.get(page.url)
    assert response.status_code == 200
    assert "private" in response["Cache-Control"]
    return response.content.decode()


@pytest.mark.django_db
def test_verified_doctors_see_the_whole_meeting_but_no_attendee(client, meeting):
    attendee = make_doctor(real_name="欧阳娜娜")
    make_registration(meeting, attendee)
    html = _page(client, make_doctor(), meeting)
    assert 'data-view="full"' in html
    assert "心衰城市会" in html and "四联疗法" in html and "静安香格里拉大酒店" in html
    assert 'data-testid="hcp-notice"' in html
    assert "2031-03-14 10:00" in html and "13:00" in html  # Beijing time
    assert 'data-testid="event-map-link"' in html and "uri.amap.com" in html and "121.449486%2C31.222636" in html
    assert "49" in html  # seats left
    assert "欧阳娜娜" not in html and attendee.username not in html
    assert 'data-testid="event-academic-share"' not in html  # for reviewers only


def _detailed_meeting():
    speaker = Speaker.objects.create(name="王建国", hospital="北京协和医院", title="主任医师")
    agenda = [("item", {"start_time": time(14, 0), "title": "指南解读", "speaker": speaker, "minutes": 40,
                        "academic": True})]
    event = make_event(title="心衰城市会", topic="四联疗法", description="<p>会议介绍：最新循证</p>", agenda=agenda,
                       venue_name="静安香格里拉大酒店", venue_address="延安中路1218号", city="上海市",
                       venue_latitude="31.222636", venue_longitude="121.449486",
                       starts_at=datetime(2031, 3, 14, 2, 0, tzinfo=ZoneInfo("UTC")),
                       ends_at=datetime(2031, 3, 14, 5, 0, tzinfo=ZoneInfo("UTC")), audience=Audience.VERIFIED)
    event.speakers.set([speaker])
    return publish_event(event)


def reader(kind: str):
    """anonymous (None), registered (no profile), pending, doctor (verified) or marketing (staff)."""
    makers = {"anonymous": lambda: None, "registered": lambda: user_with_role("doctor"),
              "pending": lambda: make_doctor(verified=False), "doctor": make_doctor,
              "marketing": lambda: user_with_role("marketing")}
    return makers[kind]()


DETAIL_WORDS = ("四联疗法", "会议介绍", "指南解读", "王建国", "静安香格里拉大酒店", "延安中路1218号")
HIDDEN_IN_TEASER = (*DETAIL_WORDS, "北京协和医院", "uri.amap.com", 'data-testid="event-agenda"',
                    'data-testid="event-speakers"',
                    'data-testid="event-venue"', 'data-testid="event-seats"', 'data-testid="registration-box"')


@pytest.mark.django_db
@pytest.mark.parametrize("kind, reason", [("anonymous", "sign_in"), ("registered", "complete_profile"),
                                          ("pending", "await_verification")])
def test_a_verified_doctors_meeting_shows_others_only_its_teaser(client, kind, reason):
    html = _page(client, reader(kind), _detailed_meeting())
    assert 'data-view="teaser"' in html
    assert "心衰城市会" in html and "2031-03-14 10:00" in html and 'data-testid="event-city"' in html
    assert "上海市" in html
    assert f'data-reason="{reason}"' in html and 'data-testid="event-eligible-action"' in html
    for hidden in HIDDEN_IN_TEASER:
        assert hidden not in html, hidden


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["doctor", "marketing"])
def test_verified_doctors_and_staff_see_description_agenda_speakers_and_venue(client, kind):
    html = _page(client, reader(kind), _detailed_meeting())
    assert 'data-view="full"' in html
    for shown in DETAIL_WORDS:
        assert shown in html, shown


@pytest.mark.django_db
def test_a_public_meeting_shows_anonymous_visitors_everything(client):
    event = make_event(audience=Audience.PUBLIC, description="<p>会议介绍</p>", venue_name="静安香格里拉大酒店")
    html = _page(client, None, event)
    assert 'data-view="full"' in html and "会议介绍" in html and "静安香格里拉大酒店" in html


@pytest.mark.django_db
def test_the_agenda_marks_academic_items(client, meeting):
    html = _page(client, make_doctor(), meeting)
    assert html.count('data-testid="agenda-item"') == 2
    assert 'data-testid="agenda-academic"' in html and 'data-testid="agenda-non-academic"' in html


@pytest.mark.django_db
@pytest.mark.parametrize("kind, reason", [("registered", "complete_profile"), ("pending", "await_verification")])
def test_unverified_members_are_told_how_to_become_eligible(client, meeting, kind, reason):
    user = user_with_role("doctor") if kind == "registered" else make_doctor(verified=False)
    html = _page(client, user, meeting)
    assert f'data-reason="{reason}"' in html and 'data-testid="event-eligible-action"' in html


@pytest.mark.django_db
def test_verified_doctors_see_the_registration_box_not_the_join_prompt(client, meeting):
    html = _page(client, make_doctor(), meeting)
    assert 'data-testid="event-become-eligible"' not in html
    assert 'data-testid="registration-box"' in html and 'data-testid="registration-form"' in html


@pytest.mark.django_db
def test_a_kol_meeting_tells_verified_doctors_it_is_by_invitation(client):
    event = make_event(audience=Audience.KOL)
    html = _page(client, make_doctor(), event)
    assert 'data-reason="kol_only"' in html


@pytest.mark.django_db
def test_a_public_meeting_shows_no_hcp_notice(client):
    event = make_event(audience=Audience.PUBLIC)
    html = _page(client, None, event)
    assert 'data-testid="hcp-notice"' not in html


@pytest.mark.django_db
def test_a_draft_meeting_is_not_served(client):
    event = make_event(publish=False)
    assert client.get(f"/meetings/{event.slug}/").status_code == 404


@pytest.mark.django_db
def test_no_map_link_without_coordinates(client):
    html = _page(client, None, make_event())
    assert 'data-testid="event-map-link"' not in html


def _index_html(client, user=None, query=""):
    if user is not None:
        client.force_login(user)
    response = client.get(make_event_index().url + query)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_the_index_lists_upcoming_meetings_the_person_may_see(client):
    now = timezone.now()
    soon = make_event(title="下周的会议", starts_at=now + timedelta(days=7))
    make_event(title="上个月的会议", starts_at=now - timedelta(days=30))
    make_event(title="未发布的会议", publish=False)
    make_event(title="专家会议", audience=Audience.KOL)
    html = _index_html(client, make_doctor())
    assert "下周的会议" in html and f'data-page-id="{soon.pk}"' in html
    assert "上个月的会议" not in html and "未发布的会议" not in html and "专家会议" not in html


@pytest.mark.django_db
def test_the_index_filters_by_type_area_and_month(client):
    diabetes = TherapyArea.objects.get(code="diabetes")
    now = timezone.localtime()
    make_event(title="网络讲座A", event_type="webinar", therapy_area=diabetes, starts_at=now + timedelta(days=3))
    make_event(title="城市会B", event_type="city", starts_at=now + timedelta(days=3))
    make_event(title="城市会C", event_type="city", starts_at=now + timedelta(days=70))
    doctor = make_doctor()
    html = _index_html(client, doctor, "?type=webinar")
    assert "网络讲座A" in html and "城市会B" not in html
    html = _index_html(client, doctor, "?area=diabetes")
    assert "网络讲座A" in html and "城市会B" not in html
    month = (now + timedelta(days=70)).strftime("%Y-%m")
    html = _index_html(client, doctor, f"?month={month}")
    assert "城市会C" in html and "城市会B" not in html


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["?type=garbage", "?month=2026-13", "?month=x' OR 1=1", "?page=abc",
                                   "?page=99999999999999999999", "?area=" + "x" * 5000, "?type=%00"])
def test_bad_filters_are_ignored_never_an_error(client, query):
    make_event(title="正常的会议")
    assert "正常的会议" in _index_html(client, make_doctor(), query)


@pytest.mark.django_db
def test_the_index_paginates(client):
    now = timezone.now()
    for i in range(12):
        make_event(title=f"会议{i:02d}", starts_at=now + timedelta(days=i + 1))
    doctor = make_doctor()
    first = _index_html(client, doctor)
    assert first.count('data-testid="event-card"') == 10 and "会议00" in first and "会议11" not in first
    second = _index_html(client, doctor, "?page=2")
    assert second.count('data-testid="event-card"') == 2 and "会议11" in second


@pytest.mark.django_db
def test_anonymous_visitors_see_public_meetings_and_a_sign_in_link(client):
    make_event(title="公开讲座", audience=Audience.PUBLIC)
    make_event(title="专业会议", audience=Audience.VERIFIED)
    html = _index_html(client)
    assert "公开讲座" in html and "专业会议" not in html and 'data-testid="event-index-join"' in html


@pytest.mark.django_db
def test_the_home_page_shows_upcoming_meetings_to_signed_in_doctors(client):
    make_event(title="即将召开的会议")
    client.force_login(make_doctor())
    html = client.get("/").content.decode()
    assert 'data-testid="home-meetings"' in html and "即将召开的会议" in html


@pytest.mark.django_db
def test_the_home_page_lists_no_meetings_for_anonymous_visitors(client):
    make_event(title="即将召开的会议", audience=Audience.PUBLIC)
    html = client.get("/").content.decode()
    assert 'data-testid="home-meetings"' not in html


pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("verified", [True, False])
def test_member_page_links_lead_somewhere(client, verified):
    client.force_login(make_doctor(verified=verified))
    html = client.get(reverse("member_home")).content.decode()
    assert 'data-testid="link-my-meetings"' in html and 'data-testid="link-surveys"' in html
    assert ('data-testid="link-my-patients"' in html) is verified
    assert client.get(reverse("events:survey_list")).status_code == 200
    if verified:
        assert client.get(reverse("reminders_doctor_patients")).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("kind, audience", [("anonymous", Audience.VERIFIED), ("registered", Audience.VERIFIED),
                                             ("pending", Audience.VERIFIED), ("anonymous", Audience.PUBLIC),
                                             ("registered", Audience.PUBLIC)])
def test_a_meeting_page_offers_one_call_to_action_not_three(client, kind, audience):
    """Who must first sign in or get verified sees one button, not the join prompt's two and the box's third."""
    import re

    html = _page(client, reader(kind), make_event(audience=audience, description="<p>会议介绍</p>"))
    buttons = re.findall(r'class="weui-btn weui-btn_(?:primary|default)"', html[html.index('<main'):])
    assert len(buttons) == 1, buttons
