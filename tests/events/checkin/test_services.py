"""checkin_perform and POST /api/v1/events/{id}/checkins: every status, nonces, garbage, roles, annulment and
the attendance credit."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engage.audit.models import AuditEntry
from engage.core import jobs
from engage.core.errors import DomainError
from engage.core.models import DeferredTask
from events.checkin.models import CheckIn, Scan
from events.checkin.services import attendance_credit, attendance_credit_sweep, checkin_annul, checkin_perform
from events.registrations.models import Registration
from members.engagement.models import EngagementEvent
from members.points.models import PointsAccount, PointsRule, PointsTransaction
from members.points.services import points_award_reverse
from tests.engage.core.test_jobs import DEAD_BROKER, broker
from tests.events.factories import (
    CHECKIN_URL,
    attend_rule,
    make_doctor,
    make_quota,
    make_registration,
    make_rep,
    make_staff,
    open_event,
    post_checkin,
    ticket_for,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    return open_event()


@pytest.fixture
def staff():
    return make_staff("marketing")


@pytest.fixture
def staff_client(staff):
    client = Client()
    client.force_login(staff)
    return client


def test_ok_answers_201_with_the_doctor_card(event, staff_client, staff):
    ticket = ticket_for(event, real_name="李文华")
    response = post_checkin(staff_client, event, secret=ticket.secret, device="door-1", nonce="n-1")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "ok"
    assert body["registration"]["name"] == "李文华"
    assert body["registration"]["hospital"] == ticket.registration.doctor.doctor_profile.hospital.name
    assert body["registration"]["department"] == "内分泌科"
    assert body["registration"]["title"]
    assert body["checked_in_at"]
    checkin = CheckIn.objects.get(ticket=ticket)
    scan = checkin.scan
    assert (scan.result, scan.staff, scan.device, scan.nonce, scan.http_status) == ("ok", staff, "door-1", "n-1", 201)
    assert scan.raw_input == ticket.secret and scan.ip_address == "127.0.0.1"
    assert scan.response["status"] == "ok"
    assert AuditEntry.objects.filter(action="event.checkin", object_id=str(checkin.pk)).count() == 1


def test_a_check_in_reads_once_and_writes_its_scan_check_in_and_audit_entry_in_one_statement(event, staff):
    from engage.core.preload import user_preloaded  # the scanner as a request has them: with their roles

    ticket = ticket_for(event)
    staff = user_preloaded(staff.pk)
    with CaptureQueriesContext(connection) as queries:
        result = checkin_perform(event=event, secret=ticket.secret, staff=staff, nonce="one-statement")
    assert result.status == "ok"
    statements = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    writes = [sql for sql in statements if "INSERT" in sql]
    assert len(writes) == 1 and all(f'INSERT INTO "{table}"' in writes[0]
                                    for table in ("events_scan", "events_checkin", "audit_auditentry"))
    reads = [sql for sql in statements if sql.startswith("SELECT")]
    # the ticket, its doctor's card and its active check-in together; the keys are drawn by the write itself
    assert len(reads) == 1 and "events_ticket" in reads[0], reads
    assert len(statements) == 2, statements
    checkin = CheckIn.objects.get(ticket=ticket)
    entry = AuditEntry.objects.get(action="event.checkin", object_id=str(checkin.pk))
    assert entry.after == {"ticket": ticket.pk, "method": "api", "device": "", "scan": checkin.scan_id}
    assert entry.actor_id == staff.pk and entry.object_repr == str(checkin)
    scan = checkin.scan
    assert (scan.result, scan.http_status, scan.nonce, scan.response) == ("ok", 201, "one-statement",
                                                                         result.body)
    assert scan.server_time == checkin.checked_in_at and checkin.credited_at is None


def test_given_the_meetings_id_a_scan_takes_the_meeting_from_the_tickets_read(event, staff):
    from engage.core.preload import user_preloaded  # the scanner as a request has them: with their roles

    ticket = ticket_for(event)
    staff = user_preloaded(staff.pk)
    with CaptureQueriesContext(connection) as queries:
        result = checkin_perform(event_id=event.pk, secret=ticket.secret, staff=staff, nonce="by-id")
    assert result.status == "ok"
    statements = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == 2 and '"events_eventpage"' in statements[0], statements  # ticket + meeting; write
    # The meeting is asked for by the id the scanner gave, not only joined through the ticket's column: that join
    # alone may be planned as a merge join that reads the whole page table for a new meeting.
    where = statements[0].rsplit(" WHERE ", 1)[1]  # the outer query's, after the subquery's
    assert '"events_ticket"."event_id" =' in where and '"events_ticket"."secret" =' in where, where
    assert CheckIn.objects.get(ticket=ticket).event_id == event.pk


def _door_statements(**scan):
    with CaptureQueriesContext(connection) as queries:
        result = checkin_perform(**scan)
    return result, [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]


def test_every_answer_at_the_door_reads_only_what_its_ticket_read_brought(event, staff):
    """The ticket's read takes only the columns the door uses (`_DOOR_COLUMNS`): an answer that needed one more
    would read it with a statement of its own, here counted."""
    from engage.core.preload import user_preloaded
    from events.registrations.models import Ticket

    staff = user_preloaded(staff.pk)
    fine = ticket_for(event, real_name="周晓梅")
    revoked = ticket_for(event)
    Ticket.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    pending = Ticket.objects.create(registration=make_registration(event, make_doctor(), status="pending"),
                                    event=event, secret="PENDINGDOORCOLUMNS23456789")
    no_profile = make_registration(event, make_staff("marketing")).ticket  # a doctor's card without a profile
    elsewhere = ticket_for(open_event())
    cases = [  # (how it is scanned, answer, reads)
        ({"secret": fine.secret}, "ok", 1),
        ({"secret": fine.secret}, "already_checked_in", 1),
        ({"registration_id": revoked.registration_id}, "revoked", 1),
        ({"secret": pending.secret}, "not_approved", 1),
        ({"secret": no_profile.secret}, "ok", 1),
        ({"secret": "NOSUCHTICKET234567892345"}, "invalid", 3),  # at the meeting, anywhere, then the meeting
        ({"secret": elsewhere.secret}, "wrong_event", 3),
    ]
    for scanned, answer, reads in cases:
        result, statements = _door_statements(event_id=event.pk, staff=staff, **scanned)
        assert result.status == answer, (scanned, result)
        assert len(statements) == reads + 1 and "INSERT" in statements[-1], (answer, statements)
    card = checkin_perform(event_id=event.pk, secret=fine.secret, staff=staff).body["registration"]
    profile = fine.registration.doctor.doctor_profile
    assert card == {"id": fine.registration_id, "name": "周晓梅", "hospital": profile.hospital.name,
                    "department": profile.department.name, "title": str(profile.get_title_display()),
                    "status": "confirmed"}
    checkin = CheckIn.objects.get(ticket=fine)
    entry = AuditEntry.objects.get(action="event.checkin", object_id=str(checkin.pk))
    assert entry.object_repr == str(CheckIn.objects.select_related("registration__doctor", "registration__event")
                                    .get(pk=checkin.pk))
    assert event.title in entry.object_repr and str(fine.registration.doctor) in entry.object_repr
    with time_machine.travel(event.ends_at + timedelta(minutes=1), tick=False):
        result, statements = _door_statements(event_id=event.pk, secret=revoked.secret, staff=staff)
        assert result.status == "revoked" and len(statements) == 2
        late = ticket_for(event)
        result, statements = _door_statements(event_id=event.pk, secret=late.secret, staff=staff)
        assert result.status == "outside_window" and len(statements) == 2, statements


def test_given_the_meetings_id_another_meetings_ticket_is_wrong_event_and_strangers_are_refused(event, staff):
    other = open_event()
    ticket = ticket_for(other)
    assert checkin_perform(event_id=event.pk, secret=ticket.secret, staff=staff).status == "wrong_event"
    assert Scan.objects.get(ticket=ticket).event_id == event.pk
    for who, code in ((make_doctor(), "forbidden"), (make_rep(), "forbidden")):
        with pytest.raises(DomainError) as refused:
            checkin_perform(event_id=event.pk, secret=ticket_for(event).secret, staff=who)
        assert refused.value.code == code
    with pytest.raises(DomainError) as missing:
        checkin_perform(event_id=2**40, secret=ticket.secret, staff=staff)
    assert missing.value.code == "not_found"
    assert Scan.objects.count() == 1 and not CheckIn.objects.exists()  # the refusals wrote nothing


def test_second_scan_is_409_with_the_first_time(event, staff_client):
    ticket = ticket_for(event)
    first = post_checkin(staff_client, event, secret=ticket.secret).json()
    second = post_checkin(staff_client, event, secret=ticket.secret)
    assert second.status_code == 409
    assert second.json()["status"] == "already_checked_in"
    assert second.json()["checked_in_at"] == first["checked_in_at"]
    assert CheckIn.objects.filter(ticket=ticket).count() == 1
    assert Scan.objects.filter(ticket=ticket).count() == 2


def test_nonce_retry_returns_the_original_answer_and_writes_nothing(event, staff_client):
    ticket = ticket_for(event)
    first = post_checkin(staff_client, event, secret=ticket.secret, nonce="retry-1")
    again = post_checkin(staff_client, event, secret=ticket.secret, nonce="retry-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert Scan.objects.filter(event=event).count() == 1
    assert CheckIn.objects.count() == 1
    # a failed scan's nonce replays its failure, even if the input changes
    bad = post_checkin(staff_client, event, secret="NOPE", nonce="retry-2")
    bad_again = post_checkin(staff_client, event, secret=ticket.secret, nonce="retry-2")
    assert bad.status_code == bad_again.status_code == 404
    assert Scan.objects.filter(event=event).count() == 2


def test_the_same_nonce_at_another_meeting_is_another_scan(event, staff_client):
    other = open_event()
    t1, t2 = ticket_for(event), ticket_for(other)
    assert post_checkin(staff_client, event, secret=t1.secret, nonce="same").status_code == 201
    assert post_checkin(staff_client, other, secret=t2.secret, nonce="same").status_code == 201


def test_unknown_secret_is_404_invalid(event, staff_client):
    response = post_checkin(staff_client, event, secret="23456789ABCDEFGHJKMNPQRSTUVW")
    assert response.status_code == 404
    assert response.json() == {"status": "invalid"}
    assert Scan.objects.get(event=event).result == "invalid"


@pytest.mark.parametrize("garbage", [
    "", "   ", "x" * 10_000, "医生签到二维码", "' OR 1=1; DROP TABLE events_ticket; --", "\x00\x01\x02", "abc\n",
    "%s%s%s", "🙂" * 50, "null",
])
def test_garbage_is_invalid_never_500(event, staff_client, garbage):
    response = post_checkin(staff_client, event, secret=garbage, nonce="g", device="d" * 5000)
    assert response.status_code == 404
    assert response.json()["status"] == "invalid"
    scan = Scan.objects.get(event=event)
    assert len(scan.raw_input) <= 500 and "\x00" not in scan.raw_input
    assert len(scan.device) <= 100


def test_garbage_nonce_is_kept_safely(event, staff_client):
    ticket = ticket_for(event)
    response = post_checkin(staff_client, event, secret=ticket.secret, nonce="\x00" + "n" * 5000)
    assert response.status_code == 201
    assert len(Scan.objects.get().nonce) == 100


@pytest.mark.parametrize("body", [None, [], "secret", {"nonce": "x"}, {"secret": 12}, {"secret": "A", "extra": 1},
                                  {"secret": "A", "client_time": "yesterday"}])
def test_malformed_bodies_are_4xx(event, staff_client, body):
    import json

    response = staff_client.post(CHECKIN_URL.format(event.pk), json.dumps(body), content_type="application/json")
    assert 400 <= response.status_code < 500
    assert not CheckIn.objects.exists()


def test_broken_json_is_400(event, staff_client):
    response = staff_client.post(CHECKIN_URL.format(event.pk), "{not json", content_type="application/json")
    assert response.status_code in (400, 422)


def test_ticket_of_another_meeting(event, staff_client):
    other_ticket = ticket_for(open_event())
    response = post_checkin(staff_client, event, secret=other_ticket.secret)
    assert response.status_code == 400
    assert response.json() == {"status": "wrong_event"}
    assert not CheckIn.objects.exists()
    assert Scan.objects.get(event=event).ticket == other_ticket


def test_revoked_ticket(event, staff_client):
    ticket = ticket_for(event)
    ticket.revoked_at = timezone.now()
    ticket.save()
    response = post_checkin(staff_client, event, secret=ticket.secret)
    assert response.status_code == 400
    assert response.json()["status"] == "revoked"
    assert not CheckIn.objects.exists()


def test_registration_not_approved(event, staff_client):
    from events.registrations.models import Ticket

    registration = make_registration(event, make_doctor(), status=Registration.Status.PENDING)
    ticket = Ticket.objects.create(registration=registration, event=event, secret="PENDING2345678923456789ABCD")
    response = post_checkin(staff_client, event, secret=ticket.secret)
    assert response.status_code == 400
    assert response.json()["status"] == "not_approved"


def test_outside_the_window_before_it_opens_and_after_it_closes(staff):
    start = timezone.now() + timedelta(days=2)
    event = open_event(starts_at=start, checkin_opens_minutes=60)
    ticket = ticket_for(event)
    with time_machine.travel(start - timedelta(minutes=61), tick=False):
        result = checkin_perform(event=event, secret=ticket.secret, staff=staff)
        assert (result.status, result.http_status) == ("outside_window", 400)
    with time_machine.travel(event.ends_at + timedelta(seconds=1), tick=False):
        assert checkin_perform(event=event, secret=ticket.secret, staff=staff).status == "outside_window"
    with time_machine.travel(start - timedelta(minutes=59), tick=False):
        assert checkin_perform(event=event, secret=ticket.secret, staff=staff).status == "ok"
    assert Scan.objects.filter(event=event).count() == 3


def test_explicit_close_time(staff):
    start = timezone.now() + timedelta(days=2)
    event = open_event(starts_at=start, checkin_closes_at=start + timedelta(minutes=30))
    ticket = ticket_for(event)
    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        assert checkin_perform(event=event, secret=ticket.secret, staff=staff).status == "outside_window"
    with time_machine.travel(start + timedelta(minutes=29), tick=False):
        assert checkin_perform(event=event, secret=ticket.secret, staff=staff).status == "ok"


def test_anonymous_is_refused(event):
    ticket = ticket_for(event)
    response = post_checkin(Client(), event, secret=ticket.secret)
    assert response.status_code in (401, 403)
    assert not Scan.objects.exists()


@pytest.mark.parametrize("role", ["doctor", "rep"])
def test_doctors_and_reps_without_a_quota_are_refused(event, role):
    ticket = ticket_for(event)
    client = Client()
    client.force_login(make_doctor() if role == "doctor" else make_rep())
    response = post_checkin(client, event, secret=ticket.secret)
    assert response.status_code == 403
    assert not Scan.objects.exists()


@pytest.mark.parametrize("role", ["marketing", "medical_reviewer", "compliance", "admin"])
def test_staff_roles_may_scan(event, role):
    ticket = ticket_for(event)
    client = Client()
    client.force_login(make_staff(role))
    assert post_checkin(client, event, secret=ticket.secret).status_code == 201


def test_a_rep_with_a_quota_at_this_meeting_may_scan(event):
    rep = make_rep()
    quota = make_quota(event, seats=5, rep=rep)
    ticket = make_registration(event, make_doctor(), quota=quota, source="rep").ticket
    client = Client()
    client.force_login(rep)
    assert post_checkin(client, event, secret=ticket.secret).status_code == 201
    other = open_event()
    assert post_checkin(client, other, secret=ticket_for(other).secret).status_code == 403


def test_bearer_token_device(event, staff):
    from wagtail.models import APIToken

    _token, raw = APIToken.create_token(user=staff, name="door scanner")
    ticket = ticket_for(event)
    response = Client().post(CHECKIN_URL.format(event.pk), {"secret": ticket.secret, "device": "zebra-1"},
                             content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 201
    assert Scan.objects.get().method == "api"


def test_unknown_meeting_is_404(staff_client):
    response = post_checkin(staff_client, type("E", (), {"pk": 999999})(), secret="ABC")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_annul_needs_a_reason_and_allows_a_new_check_in(event, staff):
    ticket = ticket_for(event)
    assert checkin_perform(event=event, secret=ticket.secret, staff=staff).status == "ok"
    checkin = CheckIn.objects.get()
    for reason in ("", "   "):
        with pytest.raises(DomainError) as exc:
            checkin_annul(checkin=checkin, actor=staff, reason=reason)
        assert exc.value.code == "reason_required"
    with pytest.raises(DomainError) as exc:
        checkin_annul(checkin=checkin, actor=make_rep(), reason="扫错了")
    assert exc.value.code == "forbidden"
    checkin_annul(checkin=checkin, actor=staff, reason="扫错了人")
    checkin.refresh_from_db()
    assert checkin.annulled_at and checkin.annul_reason == "扫错了人" and checkin.annulled_by == staff
    with pytest.raises(DomainError) as exc:
        checkin_annul(checkin=checkin, actor=staff, reason="again")
    assert exc.value.code == "already_annulled"
    assert AuditEntry.objects.filter(action="event.checkin.annul", reason="扫错了人").count() == 1
    again = checkin_perform(event=event, secret=ticket.secret, staff=staff)
    assert again.status == "ok"
    assert CheckIn.objects.filter(ticket=ticket).count() == 2
    assert CheckIn.objects.filter(ticket=ticket, annulled_at__isnull=True).count() == 1


def _checkin(event, ticket, staff, capture):
    with capture(execute=True):
        assert checkin_perform(event=event, secret=ticket.secret, staff=staff).status == "ok"
    return CheckIn.objects.get(ticket=ticket, annulled_at__isnull=True)


def _annul(checkin, staff, capture):
    with capture(execute=True):
        checkin_annul(checkin=checkin, actor=staff, reason="扫错了人")


def test_annulling_takes_the_attendance_points_back_and_a_new_check_in_pays_once_more(
        event, staff, django_capture_on_commit_callbacks, celery_eager):
    capture = django_capture_on_commit_callbacks
    attend_rule(points=50)
    ticket = ticket_for(event)
    doctor = ticket.registration.doctor
    first = _checkin(event, ticket, staff, capture)
    assert doctor.points_account.balance == 50
    _annul(first, staff, capture)
    reversal = PointsTransaction.objects.get(amount__lt=0)
    assert (reversal.kind, reversal.amount, reversal.rule.code) == ("adjust", -50, "attend_meeting")
    assert (reversal.source_type, reversal.source_id) == ("events.checkin", str(first.pk))
    assert "扫错了人" in reversal.reason and reversal.actor == staff
    assert PointsAccount.objects.get(user=doctor).balance == 0
    assert AuditEntry.objects.filter(action="points.award_reverse").count() == 1
    second = _checkin(event, ticket, staff, capture)
    attendance_credit(registration_id=ticket.registration_id)  # a retried task pays nothing more
    earned = PointsTransaction.objects.filter(account__user=doctor, kind="earn").order_by("pk")
    assert [(row.amount, row.source_id) for row in earned] == [(50, str(first.pk)), (50, str(second.pk))]
    assert PointsAccount.objects.get(user=doctor).balance == 50
    assert EngagementEvent.objects.filter(doctor=doctor, kind="meeting_attended").count() == 1
    _annul(second, staff, capture)
    assert PointsTransaction.objects.filter(account__user=doctor, amount__lt=0).count() == 2
    assert PointsAccount.objects.get(user=doctor).balance == 0


def test_a_reversal_is_written_once_per_check_in(event, staff, django_capture_on_commit_callbacks, celery_eager):
    attend_rule(points=50)
    ticket = ticket_for(event)
    doctor = ticket.registration.doctor
    checkin = _checkin(event, ticket, staff, django_capture_on_commit_callbacks)
    _annul(checkin, staff, django_capture_on_commit_callbacks)
    assert points_award_reverse(member=doctor, rule_code="attend_meeting", source=checkin, reason="again") is None
    with pytest.raises(DomainError):
        checkin_annul(checkin=checkin, actor=staff, reason="again")
    attendance_credit(registration_id=ticket.registration_id)  # a late task for an annulled check-in pays nothing
    assert PointsTransaction.objects.filter(account__user=doctor).count() == 2
    assert PointsAccount.objects.get(user=doctor).balance == 0


def test_annulled_before_the_credit_ran_pays_nothing_then_the_new_check_in_pays_once(event, staff):
    attend_rule(points=50)
    ticket = ticket_for(event)
    doctor = ticket.registration.doctor
    checkin_perform(event=event, secret=ticket.secret, staff=staff)  # the credit task has not run yet
    checkin_annul(checkin=CheckIn.objects.get(), actor=staff, reason="扫错了人")
    attendance_credit(registration_id=ticket.registration_id)
    assert not PointsTransaction.objects.exists()
    checkin_perform(event=event, secret=ticket.secret, staff=staff)
    attendance_credit(registration_id=ticket.registration_id)
    attendance_credit(registration_id=ticket.registration_id)
    assert list(PointsTransaction.objects.values_list("amount", flat=True)) == [50]
    assert PointsAccount.objects.get(user=doctor).balance == 50


def test_the_reversal_gives_the_daily_cap_back(event, staff, django_capture_on_commit_callbacks, celery_eager):
    rule = attend_rule(points=50)
    PointsRule.objects.filter(pk=rule.pk).update(daily_cap=50)
    ticket = ticket_for(event)
    first = _checkin(event, ticket, staff, django_capture_on_commit_callbacks)
    _annul(first, staff, django_capture_on_commit_callbacks)
    _checkin(event, ticket, staff, django_capture_on_commit_callbacks)
    assert PointsAccount.objects.get(user=ticket.registration.doctor).balance == 50


def test_failed_scans_give_no_credit(event, staff, django_capture_on_commit_callbacks, celery_eager):
    attend_rule()
    ticket = ticket_for(event)
    ticket.revoked_at = timezone.now()
    ticket.save()
    with django_capture_on_commit_callbacks(execute=True):
        checkin_perform(event=event, secret=ticket.secret, staff=staff)
    assert not PointsTransaction.objects.exists()
    assert not EngagementEvent.objects.filter(kind="meeting_attended").exists()


def test_search_by_name_and_last_four_digits(event, staff_client):
    ticket = ticket_for(event, real_name="王晓明")
    ticket_for(event, real_name="赵一")
    url = f"/api/v1/events/{event.pk}/checkins/search"
    hits = staff_client.get(url, {"q": "晓明"}).json()
    assert [h["name"] for h in hits] == ["王晓明"]
    assert hits[0]["id"] == ticket.registration_id and hits[0]["checked_in"] is False
    assert hits[0]["can_check_in"] is True
    last4 = ticket.registration.doctor.mobile[-4:]
    assert ticket.registration_id in [h["id"] for h in staff_client.get(url, {"q": last4}).json()]
    assert staff_client.get(url, {"q": ""}).json() == []
    assert staff_client.get(url, {"q": "'; DROP TABLE x; --" * 100}).status_code == 200
    post_checkin(staff_client, event, secret=ticket.secret)
    assert staff_client.get(url, {"q": "晓明"}).json()[0]["checked_in"] is True


def test_search_is_for_scanners_only(event):
    client = Client()
    client.force_login(make_doctor())
    assert client.get(f"/api/v1/events/{event.pk}/checkins/search", {"q": "王"}).status_code == 403
    assert Client().get(f"/api/v1/events/{event.pk}/checkins/search", {"q": "王"}).status_code in (401, 403)


def test_scanner_page(event, staff_client):
    response = staff_client.get(f"/events/{event.pk}/checkin/scanner/")
    assert response.status_code == 200
    assert b"scanner-wedge" in response.content and b"jsQR.js" in response.content


def test_scanner_page_refuses_doctors_and_anonymous(event):
    client = Client()
    client.force_login(make_doctor())
    assert client.get(f"/events/{event.pk}/checkin/scanner/").status_code == 403
    assert Client().get(f"/events/{event.pk}/checkin/scanner/").status_code == 302


def test_openapi_lists_the_checkin_routes_next_to_the_other_events_routers(staff_client):
    paths = staff_client.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/events/{event_id}/checkins" in paths
    assert "/api/v1/events/{event_id}/checkins/search" in paths
    assert any(p.startswith("/api/v1/events/") and "checkins" not in p for p in paths)  # the registration router


def test_a_burst_of_check_ins_sends_one_credit_sweep_which_pays_each_once(
        event, staff, django_capture_on_commit_callbacks, celery_eager, monkeypatch):
    attend_rule(points=50)
    tickets = [ticket_for(event) for _ in range(4)]
    monkeypatch.setattr(jobs, "_coalesced", {})
    celery_eager.conf.task_always_eager = False  # really send, to a broker that is down: the rows count the sends
    with broker(DEAD_BROKER), django_capture_on_commit_callbacks(execute=True):
        for n, ticket in enumerate(tickets):
            assert checkin_perform(event=event, secret=ticket.secret, staff=staff, nonce=f"burst-{n}").ok
    sweeps = DeferredTask.objects.filter(name="events.registrations.tasks.attendance_credit_sweep_task")
    assert list(sweeps.values_list("args", flat=True)) == [[event.pk]]
    assert not PointsTransaction.objects.filter(kind="earn").exists()  # nothing paid before the sweep runs
    assert CheckIn.objects.filter(event=event, credited_at__isnull=True).count() == 4

    assert attendance_credit_sweep(event_id=event.pk) == 4
    for ticket in tickets:
        assert PointsAccount.objects.get(user=ticket.registration.doctor).balance == 50
    assert not CheckIn.objects.filter(event=event, credited_at__isnull=True).exists()
    assert attendance_credit_sweep(event_id=event.pk) == 0  # a repeated sweep pays nothing
    assert attendance_credit_sweep() == 0
    assert PointsTransaction.objects.filter(kind="earn").count() == 4


def test_the_periodic_sweep_credits_a_check_in_whose_meeting_sweep_never_came(event, staff):
    attend_rule(points=50)
    ticket = ticket_for(event)
    checkin_perform(event=event, secret=ticket.secret, staff=staff, nonce="lost-sweep")  # its send is never run
    assert CheckIn.objects.get(ticket=ticket).credited_at is None
    assert attendance_credit_sweep() == 1
    assert PointsAccount.objects.get(user=ticket.registration.doctor).balance == 50
    annulled = CheckIn.objects.get(ticket=ticket)
    checkin_annul(checkin=annulled, actor=staff, reason="扫错了人")
    assert attendance_credit_sweep() == 0  # an annulled check-in is never credited again
