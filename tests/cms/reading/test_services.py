"""Reading and credit: records, beacons (completion, caps, forged and absurd input), points once, favourites,
history and continue reading, share attribution, and the role matrix of the new pages and endpoints."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from wagtail.models import APIToken

from cms.pages.models import Audience
from cms.reading.models import Favourite, ReadingRecord, ShareCode
from members.engagement.models import EngagementEvent
from members.points.models import PointsTransaction
from tests.cms.factories import READERS, area_page, make_article, make_reader, make_video
from tests.race import race, raise_first

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _completion(settings):
    settings.READING_COMPLETION = {"default": {"share": 0.8, "seconds": 60}, "video": {"share": 0.5, "seconds": 300}}


def _client(user=None):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _open(client, page):
    response = client.get(page.url)
    assert response.status_code == 200, response.status_code
    return response


def _backdate(record, seconds):
    """The reader opened the page `seconds` ago (and sent no beacon since)."""
    past = timezone.now() - timedelta(seconds=seconds)
    ReadingRecord.objects.filter(pk=record.pk).update(started_at=past, last_beacon_at=None)


def _beacon(client, page_id, body, **extra):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(f"/api/v1/content/{page_id}/reading", data=data, content_type="application/json", **extra)


def _points(user):
    return PointsTransaction.objects.filter(account__user=user).count()


def test_opening_a_page_creates_one_record_reused_on_revisit():
    doctor, article = make_reader("verified"), make_article()
    client = _client(doctor)
    response = _open(client, article)
    record = ReadingRecord.objects.get(doctor=doctor, page=article)
    assert record.revision_id == article.live_revision_id and record.completed_at is None
    assert f'data-reading-record="{record.pk}"' in response.content.decode()
    _open(client, article)
    assert ReadingRecord.objects.filter(doctor=doctor).count() == 1


@pytest.mark.parametrize("kind", READERS)
def test_records_only_for_doctors_who_may_read(kind):
    article = make_article(audience=Audience.VERIFIED)
    public = make_article(audience=Audience.PUBLIC, slug="pub")
    user = make_reader(kind)
    client = _client(user)
    gated = client.get(article.url)
    response = client.get(public.url)
    assert response.status_code == 200
    doctor = kind in {"registered", "pending", "rejected", "verified", "kol"}
    assert ("data-reading-record" in response.content.decode()) is doctor
    expected = {public.pk} if doctor else set()
    if kind in {"verified", "kol"}:
        assert gated.status_code == 200
        expected.add(article.pk)
    assert set(ReadingRecord.objects.values_list("page_id", flat=True)) == expected


def test_completion_needs_share_and_minimum_time_and_pays_once():
    doctor, article = make_reader("verified"), make_article()
    client = _client(doctor)
    _open(client, article)
    record = ReadingRecord.objects.get(doctor=doctor)
    _backdate(record, 40)
    data = _beacon(client, article.pk, {"record": record.pk, "seconds": 40, "share": 0.9}).json()
    assert data["completed"] is False and data["active_seconds"] == 40 and data["share"] == 0.9
    ReadingRecord.objects.filter(pk=record.pk).update(last_beacon_at=timezone.now() - timedelta(seconds=30))
    data = _beacon(client, article.pk, {"record": record.pk, "seconds": 30, "share": 0.5}).json()
    assert data["completed_now"] is True and data["points"] == 5 and data["share"] == 0.9  # share never shrinks
    assert _points(doctor) == 1
    event = EngagementEvent.objects.get(doctor=doctor, kind="content_read")
    assert event.therapy_area.code == "diabetes"
    ReadingRecord.objects.filter(pk=record.pk).update(last_beacon_at=timezone.now() - timedelta(seconds=30))
    data = _beacon(client, article.pk, {"record": record.pk, "seconds": 30, "share": 1}).json()
    assert data["completed"] is True and data["completed_now"] is False and data["points"] == 0
    assert _points(doctor) == 1 and EngagementEvent.objects.filter(doctor=doctor, kind="content_read").count() == 1


def test_time_without_enough_share_does_not_complete_and_rule_is_per_type():
    doctor = make_reader("verified")
    article, video = make_article(), make_video()
    client = _client(doctor)
    for page, share, seconds, complete in [(article, 0.79, 100, False), (video, 0.6, 200, False)]:
        _open(client, page)
        record = ReadingRecord.objects.get(doctor=doctor, page=page)
        _backdate(record, seconds)
        data = _beacon(client, page.pk, {"record": record.pk, "seconds": seconds, "share": share}).json()
        assert data["completed"] is complete
    record = ReadingRecord.objects.get(doctor=doctor, page=video)
    ReadingRecord.objects.filter(pk=record.pk).update(last_beacon_at=timezone.now() - timedelta(seconds=100))
    assert _beacon(client, video.pk, {"record": record.pk, "seconds": 100, "share": 0.5}).json()["completed"]
    assert _points(doctor) == 1


def test_seconds_are_capped_by_wall_clock_time():
    doctor, article = make_reader("verified"), make_article()
    client = _client(doctor)
    _open(client, article)
    record = ReadingRecord.objects.get(doctor=doctor)
    _backdate(record, 5)
    data = _beacon(client, article.pk, {"record": record.pk, "seconds": 600, "share": 1}).json()
    assert 5 <= data["credited_seconds"] <= 30 and data["completed"] is False
    # Right after a beacon, a claim of ten minutes earns (almost) nothing.
    data = _beacon(client, article.pk, {"record": record.pk, "seconds": 600, "share": 1}).json()
    assert data["credited_seconds"] <= 2
    assert _points(doctor) == 0


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_completion_beacons_pay_once():
    doctor, article = make_reader("verified"), make_article()
    client = _client(doctor)
    _open(client, article)
    record = ReadingRecord.objects.get(doctor=doctor)
    _backdate(record, 120)
    session_cookie = client.cookies
    clients = [Client() for _ in range(20)]
    for own in clients:
        own.cookies = session_cookie

    def send(i):
        response = _beacon(clients[i], article.pk, {"record": record.pk, "seconds": 120, "share": 1})
        return response.status_code, response.json()

    answers = raise_first(race(20, send))
    assert [status for status, _ in answers] == [200] * 20
    assert sum(1 for _, data in answers if data["completed_now"]) == 1
    assert sum(data["points"] for _, data in answers) == 5
    assert _points(doctor) == 1
    assert EngagementEvent.objects.filter(doctor=doctor, kind="content_read").count() == 1
    assert ReadingRecord.objects.get(pk=record.pk).active_seconds <= 125


def _state():
    return list(ReadingRecord.objects.order_by("pk").values_list("active_seconds", "max_share", "completed_at",
                                                                  "last_beacon_at"))


def test_forged_beacons_are_refused_and_change_nothing():
    alice, bob = make_reader("verified"), make_reader("verified")
    article, other = make_article(), make_article(slug="other", title="另一篇")
    kol_only = make_article(audience=Audience.KOL, slug="kol", title="专家内容")
    _open(_client(alice), article)
    client = _client(bob)
    _open(client, article)
    alice_record = ReadingRecord.objects.get(doctor=alice)
    bob_record = ReadingRecord.objects.get(doctor=bob)
    ReadingRecord.objects.update(started_at=timezone.now() - timedelta(seconds=300))
    before = _state()
    cases = [
        (article.pk, alice_record.pk, 404, "unknown_record"),  # someone else's record
        (other.pk, bob_record.pk, 404, "unknown_record"),  # the record of another page
        (kol_only.pk, bob_record.pk, 403, "not_allowed"),  # a page bob may not read
        (999999, bob_record.pk, 404, "unknown_page"),
    ]
    for page_id, record_id, status, code in cases:
        response = _beacon(client, page_id, {"record": record_id, "seconds": 100, "share": 1})
        assert response.status_code == status and response.json()["code"] == code, (page_id, response.content)
    assert _state() == before and _points(alice) == _points(bob) == 0


@pytest.mark.parametrize("body", [
    {"record": 1, "seconds": -5, "share": 0.5},
    {"record": 1, "seconds": 10**9, "share": 0.5},
    {"record": 1, "seconds": 10, "share": 1.5},
    {"record": 1, "seconds": 10, "share": -0.1},
    {"record": 1, "seconds": "ten", "share": 0.5},
    {"record": "x", "seconds": 10, "share": 0.5},
    {"record": 1, "seconds": 10},
    {"record": 1, "seconds": 10, "share": 0.5, "extra": 1},
    [1, 2, 3],
    "{not json",
    "",
    '{"record": 1, "seconds": 10, "share": NaN}',
    '{"record": 1, "seconds": 10, "share": 1e999}',
])
def test_absurd_beacons_answer_4xx_with_a_code(body):
    doctor, article = make_reader("verified"), make_article()
    client = _client(doctor)
    _open(client, article)
    ReadingRecord.objects.update(started_at=timezone.now() - timedelta(seconds=300))
    before = _state()
    response = _beacon(client, article.pk, body)
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["code"] in {"invalid_input", "malformed_request"}
    assert _state() == before


def test_oversized_beacon_is_refused(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    doctor, article = make_reader("verified"), make_article()
    client = _client(doctor)
    _open(client, article)
    record = ReadingRecord.objects.get()
    body = json.dumps({"record": record.pk, "seconds": 1, "share": 0.5, "pad": "x" * 20_000})
    response = _beacon(client, article.pk, body)
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"


def test_beacon_needs_csrf_with_a_session_and_works_with_a_token():
    doctor, article = make_reader("verified"), make_article()
    _open(_client(doctor), article)
    record = ReadingRecord.objects.get()
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(doctor)
    response = _beacon(csrf_client, article.pk, {"record": record.pk, "seconds": 0, "share": 0.1})
    assert response.status_code == 403
    _token, key = APIToken.create_token(user=doctor, name="app")
    response = _beacon(Client(), article.pk, {"record": record.pk, "seconds": 0, "share": 0.1},
                       HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("kind", READERS)
def test_beacon_role_matrix(kind):
    article = make_article(audience=Audience.PUBLIC)
    user = make_reader(kind)
    client = _client(user)
    client.get(article.url)
    record = ReadingRecord.objects.filter(doctor=user).first() if user else None
    response = _beacon(client, article.pk, {"record": record.pk if record else 1, "seconds": 0, "share": 0.2})
    doctors = {"registered", "pending", "rejected", "verified", "kol"}
    expected = 200 if kind in doctors else (401 if kind == "anonymous" else 403)
    assert response.status_code == expected, response.content
    if kind not in doctors and kind != "anonymous":
        assert response.json()["code"] == "not_a_doctor"


def test_gated_page_refuses_a_beacon_after_access_is_lost():
    doctor, article = make_reader("verified"), make_article()
    client = _client(doctor)
    _open(client, article)
    record = ReadingRecord.objects.get()
    doctor.doctor_profile.status = "pending"
    doctor.doctor_profile.save()
    response = _beacon(client, article.pk, {"record": record.pk, "seconds": 0, "share": 1})
    assert response.status_code == 403 and response.json() == {**response.json(), "code": "not_allowed",
                                                               "reason": "await_verification"}


def test_favourites_toggle_and_list():
    doctor, article = make_reader("verified"), make_article()
    kol_only = make_article(audience=Audience.KOL, slug="kol", title="专家内容")
    client = _client(doctor)
    assert "data-testid=\"favourite-toggle\"" in _open(client, article).content.decode()
    response = client.post(f"/content/reading/favourite/{article.pk}/", {"next": article.url})
    assert response.status_code == 302 and response["Location"] == article.url
    assert Favourite.objects.filter(user=doctor, page=article).exists()
    listing = client.get("/content/reading/favourites/").content.decode()
    assert article.title in listing
    client.post(f"/content/reading/favourite/{article.pk}/", {"next": "https://evil.example.com/"})
    assert not Favourite.objects.exists()
    response = client.post(f"/content/reading/favourite/{kol_only.pk}/")
    assert response.status_code == 403 and not Favourite.objects.exists()
    assert client.post("/content/reading/favourite/999999/").status_code == 404
    assert client.get(f"/content/reading/favourite/{article.pk}/").status_code == 405


def test_history_and_continue_reading_most_recent_first():
    doctor = make_reader("verified")
    first, second, done = (make_article(slug=s, title=t) for s, t in
                           [("a1", "第一篇文章"), ("a2", "第二篇文章"), ("a3", "读完的文章")])
    client = _client(doctor)
    for page in (done, first, second):
        _open(client, page)
    now = timezone.now()
    ReadingRecord.objects.filter(page=first).update(last_seen_at=now - timedelta(minutes=5), max_share=0.4)
    ReadingRecord.objects.filter(page=second).update(last_seen_at=now - timedelta(minutes=10))
    ReadingRecord.objects.filter(page=done).update(last_seen_at=now, completed_at=now, max_share=1)
    home = client.get("/members/me/").content.decode()
    section = home[home.index('data-testid="continue-reading"'):]
    assert section.index("第一篇文章") < section.index("第二篇文章") and "读完的文章" not in section
    assert "40%" in section
    front = client.get("/").content.decode()
    assert 'data-testid="continue-reading"' in front
    assert front.count('data-testid="continue-reading-item"') == 2
    history = client.get("/content/reading/history/").content.decode()
    assert history.index("读完的文章") < history.index("第一篇文章") < history.index("第二篇文章")
    data = client.get("/api/v1/me/reading").json()
    assert [row["title"] for row in data] == ["读完的文章", "第一篇文章", "第二篇文章"]
    assert data[1]["percent"] == 40 and data[0]["completed_at"]


def test_sharing_attributes_forwarded_reads_first_touch():
    sharer, reader, second_sharer = make_reader("verified"), make_reader("verified"), make_reader("verified")
    article = make_article()
    sharer_client = _client(sharer)
    page_html = _open(sharer_client, article).content.decode()
    code = ShareCode.objects.get(user=sharer).code
    assert f"?ref={code}" in page_html
    _open(sharer_client, article)
    assert ShareCode.objects.filter(user=sharer).count() == 1
    other_code = ShareCode.objects.get_or_create(user=second_sharer, defaults={"code": "zz99zz99"})[0].code
    reader_client = _client(reader)
    reader_client.get(f"{article.url}?ref={code}")
    reader_client.get(f"{article.url}?ref={other_code}")  # first touch wins
    assert ReadingRecord.objects.get(doctor=reader).referrer == sharer
    # Own code and unknown codes attribute nothing.
    assert ReadingRecord.objects.get(doctor=sharer).referrer is None
    third = make_reader("verified")
    _client(third).get(f"{article.url}?ref=nope{'x' * 500}")
    assert ReadingRecord.objects.get(doctor=third).referrer is None
    staff = _client(make_reader("marketing"))
    report = staff.get("/content/reading/forwards/").content.decode()
    assert f'data-page-id="{article.pk}"><td>{article.title}</td><td>1</td><td>0</td>' in report
    assert f'data-sharer-id="{sharer.pk}"><td>{sharer.username}</td><td>1</td>' in report


def test_a_forwarded_link_counts_after_the_visitor_signs_in():
    sharer, article = make_reader("verified"), make_article()
    code = ShareCode.objects.create(user=sharer, code="abcd1234").code
    visitor = Client()
    assert visitor.get(f"{article.url}?ref={code}").status_code == 403  # the gate: sign in to read
    reader = make_reader("verified")
    visitor.force_login(reader)
    _open(visitor, article)
    assert ReadingRecord.objects.get(doctor=reader).referrer == sharer


def test_openapi_documents_the_reading_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "post" in paths["/api/v1/content/{page_id}/reading"] and "get" in paths["/api/v1/me/reading"]


@pytest.mark.parametrize("kind", READERS)
def test_reading_pages_role_matrix(kind):
    area_page()
    client = _client(make_reader(kind))
    staff = kind in {"marketing", "medical_reviewer", "compliance", "admin"}
    for url in ("/content/reading/history/", "/content/reading/favourites/"):
        response = client.get(url)
        assert response.status_code == (302 if kind == "anonymous" else 200), (url, kind)
    response = client.get("/content/reading/forwards/")
    assert response.status_code == (302 if kind == "anonymous" else 200 if staff else 403), kind
    response = client.get("/api/v1/me/reading")
    assert response.status_code == (401 if kind == "anonymous" else 200), kind


def test_reopening_a_page_writes_its_record_at_most_once_a_minute():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    doctor = make_reader("verified")
    page = make_article(slug="again", title="再读一遍")
    client = _client(doctor)
    _open(client, page)
    record = ReadingRecord.objects.get(doctor=doctor, page=page)
    with CaptureQueriesContext(connection) as queries:
        html = _open(client, page).content.decode()
    assert f'data-reading-record="{record.pk}"' in html
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE \"cms_readingrecord\"")]
    assert ReadingRecord.objects.get(pk=record.pk).last_seen_at == record.last_seen_at
    ReadingRecord.objects.filter(pk=record.pk).update(last_seen_at=timezone.now() - timedelta(seconds=61))
    _open(client, page)
    seen = ReadingRecord.objects.get(pk=record.pk).last_seen_at
    assert timezone.now() - seen < timedelta(seconds=5) and ReadingRecord.objects.filter(doctor=doctor).count() == 1
    assert f'data-reading-record="{record.pk}"' in _open(client, page).content.decode()  # the same record
