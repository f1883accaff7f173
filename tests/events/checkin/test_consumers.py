"""Live counters: the selector's figures and the staff-only WebSocket that pushes them after a check-in."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from engage.asgi import application
from events.checkin.selectors import event_counters
from events.checkin.services import checkin_perform
from events.registrations.models import Registration
from tests.events.factories import make_doctor, make_registration, make_staff, open_event, ticket_for


def _session_headers(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    return [(b"cookie", f"sessionid={cookie.value}".encode()), (b"origin", b"http://localhost")]


@pytest.mark.django_db
def test_counters():
    start = timezone.now() + timedelta(minutes=30)
    event = open_event(starts_at=start)
    staff = make_staff()
    tickets = [ticket_for(event) for _ in range(3)]
    make_registration(event, make_doctor(), status=Registration.Status.PENDING)
    make_registration(event, make_doctor(), status=Registration.Status.WAITLISTED)
    for ticket in tickets[:2]:
        checkin_perform(event=event, secret=ticket.secret, staff=staff)
    counters = event_counters(event)
    assert (counters["registered"], counters["approved"], counters["checked_in"]) == (4, 3, 2)
    assert counters["no_shows"] == 0  # not started yet
    assert sum(bar["count"] for bar in counters["arrivals"]) == 2
    assert len(counters["arrivals"]) == 4  # 30 minutes since check-in opened: bars 0-10, 10-20, 20-30, 30-
    later = event_counters(event, now=start + timedelta(minutes=5))
    assert later["no_shows"] == 1


def _bars_by_hand(times, *, opens, until):
    """The arrivals as the dashboard defines them, one time at a time (what the counting statement must equal)."""
    from events.checkin.selectors import BUCKET, MAX_BUCKETS

    count = min(int((until - opens) / BUCKET) + 1, MAX_BUCKETS)
    start = opens if count < MAX_BUCKETS else until - BUCKET * (MAX_BUCKETS - 1)
    bars = [0] * count
    for t in times:
        bars[min(max(int((t - start) / BUCKET), 0), count - 1)] += 1
    return [(start + BUCKET * i, n) for i, n in enumerate(bars)]


@pytest.mark.django_db
@pytest.mark.parametrize("hours_open", [0.05, 0.5, 3, 12])  # one bar; a few; many; more than MAX_BUCKETS
def test_arrivals_are_counted_per_bar_on_every_edge(hours_open):
    from events.checkin.models import CheckIn
    from events.checkin.selectors import BUCKET

    now = timezone.now().replace(microsecond=0)
    event = open_event(starts_at=now + timedelta(minutes=10), checkin_opens_minutes=int(hours_open * 60) + 10)
    opens = event.starts_at - timedelta(minutes=event.checkin_opens_minutes)
    staff = make_staff()
    offsets = [-timedelta(hours=30), -timedelta(seconds=1), timedelta(0), BUCKET - timedelta(microseconds=1), BUCKET,
               BUCKET * 2 + timedelta(seconds=30), BUCKET * 3, now - opens - timedelta(seconds=1), now - opens,
               now - opens + timedelta(hours=2)]  # before the window, on and around edges, now, after now
    times = [opens + offset for offset in offsets]
    for moment in times:
        checkin_perform(event=event, secret=ticket_for(event).secret, staff=staff)
        CheckIn.objects.filter(pk=CheckIn.objects.latest("pk").pk).update(checked_in_at=moment)
    checkin_perform(event=event, secret=ticket_for(event).secret, staff=staff)  # annulled: in no bar
    CheckIn.objects.filter(pk=CheckIn.objects.latest("pk").pk).update(checked_in_at=times[4], annulled_at=now,
                                                                       annul_reason="扫错了")
    counters = event_counters(event, now=now)
    expected = _bars_by_hand(times, opens=opens, until=now)
    assert [(bar["start"], bar["count"]) for bar in counters["arrivals"]] == [
        (start.isoformat(), n) for start, n in expected]
    assert counters["checked_in"] == len(times) == sum(bar["count"] for bar in counters["arrivals"])
    assert len(counters["arrivals"]) == min(int((now - opens) / BUCKET) + 1, 48)


@pytest.mark.django_db
def test_dashboard_admin_page():
    event = open_event()
    client = Client()
    client.force_login(make_staff())
    response = client.get(f"/admin/events/{event.pk}/checkin/")
    assert response.status_code == 200
    assert b"event_live.js" in response.content and f"/ws/events/{event.pk}/live/".encode() in response.content
    assert client.get(f"/admin/events/{event.pk}/checkin/log/").status_code == 200
    assert client.get("/admin/events/checkin/").status_code == 200
    rep = Client()
    rep.force_login(make_doctor())
    assert rep.get(f"/admin/events/{event.pk}/checkin/").status_code in (302, 403)


@pytest.mark.django_db
def test_annul_from_the_admin_log_needs_a_reason():
    event, staff = open_event(), make_staff()
    ticket = ticket_for(event)
    checkin_perform(event=event, secret=ticket.secret, staff=staff)
    checkin = ticket.checkins.get()
    client = Client()
    client.force_login(staff)
    client.post(f"/admin/events/checkin/{checkin.pk}/annul/", {"reason": "  "})
    checkin.refresh_from_db()
    assert checkin.annulled_at is None
    response = client.post(f"/admin/events/checkin/{checkin.pk}/annul/", {"reason": "扫错票"})
    assert response.status_code == 302
    checkin.refresh_from_db()
    assert checkin.annulled_at is not None and checkin.annul_reason == "扫错票"


def _run(scenario):
    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_anonymous_and_doctors_are_refused():
    event = open_event()
    doctor_headers = _session_headers(make_doctor())

    async def scenario():
        anonymous = WebsocketCommunicator(application, f"/ws/events/{event.pk}/live/",
                                          headers=[(b"origin", b"http://localhost")])
        connected, code = await anonymous.connect(timeout=5)
        assert not connected and code == 4401
        refused = WebsocketCommunicator(application, f"/ws/events/{event.pk}/live/", headers=doctor_headers)
        connected, code = await refused.connect(timeout=5)
        assert not connected and code == 4403
        missing = WebsocketCommunicator(application, "/ws/events/999999/live/", headers=doctor_headers)
        connected, code = await missing.connect(timeout=5)
        assert not connected

    _run(scenario)


@pytest.mark.django_db(transaction=True)
def test_foreign_origin_is_refused():
    event = open_event()
    headers = [h for h in _session_headers(make_staff()) if h[0] != b"origin"]

    async def scenario():
        socket = WebsocketCommunicator(application, f"/ws/events/{event.pk}/live/",
                                       headers=[*headers, (b"origin", b"https://evil.example")])
        connected, _code = await socket.connect(timeout=5)
        assert not connected

    _run(scenario)


@pytest.mark.django_db(transaction=True)
def test_staff_receives_the_counters_after_a_check_in():
    event, staff = open_event(), make_staff()
    ticket = ticket_for(event)
    headers = _session_headers(staff)

    async def scenario():
        socket = WebsocketCommunicator(application, f"/ws/events/{event.pk}/live/", headers=headers)
        connected, _ = await socket.connect(timeout=5)
        assert connected
        hello = await socket.receive_json_from(timeout=5)
        assert hello["event"] == "counters" and hello["payload"]["checked_in"] == 0
        result = await database_sync_to_async(checkin_perform)(event=event, secret=ticket.secret, staff=staff)
        assert result.status == "ok"
        pushed = await socket.receive_json_from(timeout=10)
        assert pushed["event"] == "counters"
        assert pushed["payload"]["checked_in"] == 1 and pushed["payload"]["registered"] == 1
        await socket.send_json_to({"type": "ping"})
        assert (await socket.receive_json_from(timeout=5))["event"] == "pong"
        await socket.disconnect()

    _run(scenario)
