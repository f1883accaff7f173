"""Exactly one check-in per ticket whatever the concurrency: real threads against PostgreSQL."""

import pytest
from django.db import connection

from events.checkin.models import CheckIn, Scan
from events.checkin.services import attendance_credit, checkin_annul, checkin_perform
from members.points.models import PointsAccount, PointsTransaction
from tests.events.factories import attend_rule, make_staff, open_event, ticket_for
from tests.race import race, raise_first

pytestmark = pytest.mark.django_db(transaction=True)
THREADS = 50


def test_fifty_concurrent_scans_of_one_ticket_check_it_in_once():
    event, staff = open_event(), make_staff()
    ticket = ticket_for(event)

    results = raise_first(race(THREADS, lambda i: checkin_perform(event=event, secret=ticket.secret, staff=staff,
                                                                  nonce=f"scan-{i}", device=f"phone-{i % 4}")))

    statuses = sorted(r.status for r in results)
    assert statuses.count("ok") == 1
    assert statuses.count("already_checked_in") == THREADS - 1
    assert Scan.objects.filter(event=event).count() == THREADS
    assert CheckIn.objects.filter(ticket=ticket).count() == 1
    first = CheckIn.objects.get(ticket=ticket).checked_in_at.isoformat()
    assert {r.body["checked_in_at"] for r in results} == {first}


def test_concurrent_retries_with_one_nonce_are_one_scan():
    event, staff = open_event(), make_staff()
    ticket = ticket_for(event)

    results = raise_first(race(20, lambda i: checkin_perform(event=event, secret=ticket.secret, staff=staff,
                                                             nonce="one-nonce")))

    assert {(r.status, r.http_status) for r in results} == {("ok", 201)}
    assert sum(not r.replayed for r in results) == 1
    assert Scan.objects.filter(event=event).count() == 1
    assert CheckIn.objects.count() == 1


def test_concurrent_retries_of_an_invalid_scan_with_one_nonce():
    event, staff = open_event(), make_staff()

    results = raise_first(race(10, lambda i: checkin_perform(event=event, secret="NOSUCHTICKET", staff=staff,
                                                             nonce="n")))

    assert {r.status for r in results} == {"invalid"}
    assert Scan.objects.filter(event=event).count() == 1


def test_the_database_refuses_a_second_active_check_in():
    from django.db import IntegrityError, transaction

    event, staff = open_event(), make_staff()
    ticket = ticket_for(event)
    checkin_perform(event=event, secret=ticket.secret, staff=staff)
    original = CheckIn.objects.get()
    scan = Scan.objects.create(event=event, ticket=ticket, result="ok")
    with pytest.raises(IntegrityError), transaction.atomic():
        CheckIn.objects.create(ticket=ticket, event=event, registration=original.registration, scan=scan,
                               method="api", checked_in_at=original.checked_in_at)
    assert connection.is_usable()


@pytest.mark.parametrize("attempt", range(3))
def test_annulment_racing_the_attendance_credit_leaves_nothing_paid(attempt):
    attend_rule(points=50)
    event, staff = open_event(), make_staff()
    ticket = ticket_for(event)
    checkin_perform(event=event, secret=ticket.secret, staff=staff)
    checkin = CheckIn.objects.get()
    connection.close()

    def run(i):
        if i % 2:
            return checkin_annul(checkin=checkin, actor=staff, reason="扫错了人")
        return attendance_credit(registration_id=ticket.registration_id)

    raise_first(race(2, run))
    paid = sum(PointsTransaction.objects.values_list("amount", flat=True))
    assert paid == 0
    assert PointsAccount.objects.filter(user=ticket.registration.doctor, balance__gt=0).count() == 0
