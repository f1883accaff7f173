"""500 doctors race for 100 seats split over 4 quotas, on PostgreSQL with real threads and connections."""

import random
import threading
from collections import Counter

import pytest
from django.db import OperationalError, connection, connections, transaction

from engage.core.errors import DomainError
from events.registrations.models import FrequencyRule, Quota, Registration
from events.registrations.selectors import waitlist_position
from events.registrations.services import _quota_for_new_registration, registration_cancel, registration_create
from tests.events.factories import make_doctor, make_event, make_quota, make_rep
from tests.race import race, raise_first, someone_waits_for_a_lock

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
        waiting = list(Registration.objects.filter(quota=quota, status=S.WAITLISTED).order_by("pk"))
        assert quota.seats == 25
        assert quota.taken == len(confirmed) == 25, quota
        assert all(r.holds_seat for r in confirmed) and not any(r.holds_seat for r in waiting)
        # First come, first served: every seat went to a request served before every waiting one.
        assert max(r.pk for r in confirmed) < min(r.pk for r in waiting)
        assert max(r.created_at for r in confirmed) <= min(r.created_at for r in waiting)
        # The waiting list is in the order the database numbered the requests (they joined it concurrently).
        assert [waitlist_position(registration=r) for r in waiting] == list(range(1, len(waiting) + 1))
        assert all(r.ticket.revoked_at is None for r in confirmed)

    # A cancellation gives the seat to the first waiting doctor of that quota.
    quota = quotas[0]
    leaver = Registration.objects.filter(quota=quota, status=S.CONFIRMED).first()
    first_waiting = Registration.objects.filter(quota=quota, status=S.WAITLISTED).order_by("pk")[0]
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


def _holding_a_waitlist_join(event):
    """A thread inside registration_create's transaction for a full quota, paused right after it took the quota's
    lock: returns (release, thread); set `release` to let it finish."""
    quota = Quota.objects.get(event=event, kind="open")
    started, release = threading.Event(), threading.Event()

    def join():
        try:
            with transaction.atomic():
                _quota_for_new_registration(quota)
                started.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=join)
    thread.start()
    assert started.wait(timeout=10)
    return release, thread


def _lock_timeout(ms: int):
    with connection.cursor() as cursor:
        cursor.execute(f"SET lock_timeout = {int(ms)}")


@pytest.mark.django_db(transaction=True)
def test_doctors_joining_a_full_quotas_waiting_list_do_not_wait_for_each_other():
    event = make_event(capacity=1)
    seated = registration_create(event=event, doctor=make_doctor())
    release, thread = _holding_a_waitlist_join(event)
    try:
        _lock_timeout(3000)  # with an exclusive lock this would wait for the paused join, and fail after 3 s
        waiting = registration_create(event=event, doctor=make_doctor())
        assert waiting.status == S.WAITLISTED
        # A cancellation gives the seat away under the exclusive lock: it waits until the join is through.
        _lock_timeout(300)
        with pytest.raises(OperationalError, match="lock timeout"):
            registration_cancel(registration=seated, actor=seated.doctor)
    finally:
        release.set()
        thread.join(timeout=30)
        _lock_timeout(0)
    seated.refresh_from_db()
    assert seated.status == S.CONFIRMED  # the timed-out cancellation changed nothing
    registration_cancel(registration=seated, actor=seated.doctor)
    waiting.refresh_from_db()
    assert waiting.status == S.CONFIRMED and Quota.objects.get(event=event, kind="open").taken == 1


@pytest.mark.django_db(transaction=True)
def test_a_seat_freed_while_a_doctor_waits_for_the_share_lock_is_taken_not_queued_for():
    event = make_event(capacity=1)
    seated = registration_create(event=event, doctor=make_doctor())
    quota = Quota.objects.get(event=event, kind="open")
    newcomer = make_doctor()
    result: dict = {}

    def register():
        try:
            # sees the quota full, then waits for the share lock behind the cancellation below
            result["status"] = registration_create(event=event, doctor=newcomer).status
        except Exception as exc:  # reported by the assertions below
            result["error"] = exc
        finally:
            connections.close_all()

    with transaction.atomic():
        Quota.objects.select_for_update().get(pk=quota.pk)  # a cancellation in progress holds the quota
        thread = threading.Thread(target=register)
        thread.start()
        assert someone_waits_for_a_lock(), result
        registration_cancel(registration=seated, actor=seated.doctor)  # frees the seat; nobody is waiting yet
    thread.join(timeout=30)
    assert result["status"] == S.CONFIRMED  # took the freed seat instead of joining an empty waiting list
    assert Quota.objects.get(pk=quota.pk).taken == 1
