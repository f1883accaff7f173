"""500 doctors race for 100 seats split over 4 quotas, on PostgreSQL with real threads and connections."""

import random
from collections import Counter

import pytest
from django.db import connection

from engage.core.errors import DomainError
from events.registrations.models import FrequencyRule, Quota, Registration
from events.registrations.services import registration_cancel, registration_create
from tests.events.factories import make_doctor, make_event, make_quota, make_rep
from tests.race import race, raise_first

S = Registration.Status
THREADS = 24
DOCTORS = 500


def _register(event, doctor, invite):
    try:
        return registration_create(event=event, doctor=doctor, invite=invite).status
    except DomainError as error:
        return error.code
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_500_concurrent_registrations_for_100_seats_over_4_quotas():
    event = make_event(capacity=100)
    quotas = [make_quota(event, seats=25, rep=make_rep()), make_quota(event, seats=25, rep=make_rep()),
              make_quota(event, seats=25, province="上海市")]
    invites = [q.invite_code for q in quotas] + [None]  # the fourth: the open quota (25 seats)
    doctors = [make_doctor(province="上海市") for _ in range(DOCTORS)]
    rng = random.Random(5)
    jobs = [(doctor, rng.choice(invites)) for doctor in doctors]
    jobs += [(doctor, invite) for doctor, invite in jobs[:40]]  # 40 duplicate requests in the same race
    rng.shuffle(jobs)
    connection.close()
    # THREADS threads released together, each working through its share of the requests in turn.
    shares = raise_first(race(THREADS, lambda i: [_register(event, *job) for job in jobs[i::THREADS]], timeout=None))
    results = [result for share in shares for result in share]

    counts = Counter(results)
    assert counts[S.CONFIRMED] == 100
    assert counts["already_registered"] == 40
    assert counts[S.WAITLISTED] == DOCTORS - 100
    assert set(counts) == {S.CONFIRMED, S.WAITLISTED, "already_registered"}
    assert Registration.objects.filter(event=event).count() == DOCTORS
    for quota in Quota.objects.filter(event=event):
        confirmed = list(Registration.objects.filter(quota=quota, status=S.CONFIRMED).order_by("pk"))
        waiting = list(Registration.objects.filter(quota=quota, status=S.WAITLISTED).order_by("created_at", "pk"))
        assert quota.seats == 25
        assert quota.taken == len(confirmed) == 25, quota
        assert all(r.holds_seat for r in confirmed) and not any(r.holds_seat for r in waiting)
        # First come, first served: every seat went to a request served before every waiting one.
        assert max(r.pk for r in confirmed) < min(r.pk for r in waiting)
        assert max(r.created_at for r in confirmed) <= min(r.created_at for r in waiting)
        assert [r.pk for r in waiting] == sorted(r.pk for r in waiting)
        assert all(r.ticket.revoked_at is None for r in confirmed)

    # A cancellation gives the seat to the first waiting doctor of that quota.
    quota = quotas[0]
    leaver = Registration.objects.filter(quota=quota, status=S.CONFIRMED).first()
    first_waiting = Registration.objects.filter(quota=quota, status=S.WAITLISTED).order_by("created_at", "pk")[0]
    registration_cancel(registration=leaver, actor=leaver.doctor)
    first_waiting.refresh_from_db()
    assert first_waiting.status == S.CONFIRMED and first_waiting.ticket.revoked_at is None
    assert Quota.objects.get(pk=quota.pk).taken == 25
    assert Registration.objects.filter(event=event, status=S.CONFIRMED).count() == 100


@pytest.mark.django_db(transaction=True)
def test_concurrent_cancellations_promote_each_waiting_doctor_once():
    event = make_event(capacity=10)
    seated = [registration_create(event=event, doctor=make_doctor()) for _ in range(10)]
    waiting = [registration_create(event=event, doctor=make_doctor()) for _ in range(10)]
    connection.close()
    raise_first(race(10, lambda i: registration_cancel(registration=seated[i], actor=seated[i].doctor)))
    assert sorted(Registration.objects.filter(status=S.CONFIRMED).values_list("pk", flat=True)) \
        == sorted(r.pk for r in waiting)
    assert Quota.objects.get(event=event, kind="open").taken == 10


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(5))
def test_one_doctor_racing_to_two_meetings_passes_a_one_per_period_block_once(attempt):
    FrequencyRule.objects.create(event_type="", max_meetings=1, period="year", action="block")
    doctor = make_doctor()
    events = [make_event(), make_event()]
    connection.close()
    results = race(2, lambda i: _register(events[i], doctor, None))
    assert sorted(results) == [S.CONFIRMED, "frequency_limit"]
    assert Registration.objects.filter(doctor=doctor, status=S.CONFIRMED).count() == 1
    assert sum(Quota.objects.filter(event__in=events).values_list("taken", flat=True)) == 1
