"""Meeting registration on PostgreSQL: 500 doctors race for 100 seats split over 4 quotas (the open quota and
three rep quotas, invitation codes spread evenly) through `registration_create` with 8 worker processes; the
figure is registrations per second. Baseline, same workers in the same run: plain single-row INSERTs of 500
registrations into events_registration (ORM create, autocommit) for another meeting.

Each round uses a fresh meeting from `manage.py create_demo_event` (published through the review workflow);
rounds alternate service and baseline so drift on a busy machine hits both. Every round checks the outcome:
exactly 100 confirmed, every quota's `taken` equal to its confirmed registrations, the rest wait-listed.
Runs in a child process like bench_points (tests.benchmarks.child).
"""

import os
import time
from concurrent.futures import ProcessPoolExecutor
from io import StringIO
from multiprocessing import get_context

from tests.benchmarks.child import bench_doctors, child_main, close_database_before_fork, run_child, setup_django
from tests.benchmarks.core import Context, Row

WORKERS = 8
DOCTORS = 500
CAPACITY = 100
REPS = 3  # + the open quota = 4 quotas of 25 seats
BASELINE = "plain single-row INSERTs into events_registration (ORM create, autocommit), same 8 workers"


# --------------------------------------------------------------------------------------------------------------
# Parent side


def registrations(ctx: Context) -> list[Row]:
    """Registrations per second for 500 doctors racing for 100 seats over 4 quotas."""
    result = run_child(ctx, "tests.benchmarks.bench_registrations", str(max(ctx.options.rounds, 1)))
    note = f"{WORKERS} workers, {result['rounds']} rounds of {DOCTORS} doctors for {CAPACITY} seats"
    return [Row("registration_create (500 doctors, 100 seats, 4 quotas)", result["registrations_per_s"],
                result["inserts_per_s"], "registrations/s", BASELINE, note)]


# --------------------------------------------------------------------------------------------------------------
# Child side


def _worker_init() -> None:
    from django.db import connections

    connections.close_all()  # never share the parent's connection across fork


def _register_job(event_id: int, jobs: list[tuple[int, str | None]]) -> dict:
    from engage.core.errors import DomainError
    from events.pages.models import EventPage
    from events.registrations.services import registration_create
    from members.accounts.models import User

    event = EventPage.objects.get(pk=event_id)
    users = User.objects.in_bulk([user_id for user_id, _invite in jobs])
    outcome: dict[str, int] = {}
    for user_id, invite in jobs:
        try:
            status = registration_create(event=event, doctor=users[user_id], invite=invite).status
        except DomainError as error:
            status = error.code
        outcome[status] = outcome.get(status, 0) + 1
    return outcome


def _insert_job(event_id: int, jobs: list[tuple[int, str | None]]) -> dict:
    from events.registrations.models import Registration

    for user_id, _invite in jobs:
        Registration.objects.create(event_id=event_id, doctor_id=user_id, status="waitlisted", source="self")
    return {"inserted": len(jobs)}


def _meeting(reps) -> tuple[int, list[str | None]]:
    from django.core.management import call_command

    from events.pages.models import EventPage
    from events.registrations.services import quota_allocate

    out = StringIO()
    call_command("create_demo_event", "--capacity", str(CAPACITY), "--quotas", "1", "--starts-in", "1440",
                 stdout=out)
    event = EventPage.objects.get(pk=int(out.getvalue().strip()))
    invites: list[str | None] = [None]
    for rep in reps:
        invites.append(quota_allocate(event=event, actor=None, seats=CAPACITY // (REPS + 1), rep=rep).invite_code)
    return event.pk, invites


def _race(pool, job, event_id: int, invites, doctor_ids: list[int]) -> tuple[float, dict]:
    jobs = [(user_id, invites[i % len(invites)]) for i, user_id in enumerate(doctor_ids)]
    started = time.perf_counter()
    futures = [pool.submit(job, event_id, jobs[w::WORKERS]) for w in range(WORKERS)]
    outcome: dict[str, int] = {}
    for future in futures:
        for key, n in future.result().items():
            outcome[key] = outcome.get(key, 0) + n
    return time.perf_counter() - started, outcome


def _check(event_id: int, outcome: dict) -> None:
    from events.registrations.models import Quota, Registration

    if outcome != {"confirmed": CAPACITY, "waitlisted": DOCTORS - CAPACITY}:
        raise RuntimeError(f"unexpected outcome {outcome}")
    for quota in Quota.objects.filter(event_id=event_id):
        confirmed = Registration.objects.filter(quota=quota, status="confirmed").count()
        if quota.taken != confirmed or quota.taken > quota.seats:
            raise RuntimeError(f"quota {quota.pk}: taken {quota.taken}, confirmed {confirmed}, seats {quota.seats}")


def measure(rounds: str) -> dict:
    rounds = int(rounds)
    setup_django()
    from django.contrib.auth.models import Group

    from members.accounts.models import User

    doctors = bench_doctors("bench-registration-", DOCTORS)
    doctor_ids = [u.pk for u in doctors]
    group = Group.objects.get(name="rep")
    reps = []
    for i in range(REPS):
        rep, _ = User.objects.get_or_create(username=f"bench-registration-rep-{i}",
                                            defaults={"email": f"bench-registration-rep-{i}@bench.engage.local"})
        rep.groups.add(group)
        reps.append(rep)
    meetings = [(_meeting(reps), _meeting(reps)) for _ in range(rounds + 1)]
    close_database_before_fork()
    service_s = insert_s = 0.0
    with ProcessPoolExecutor(WORKERS, mp_context=get_context("fork"), initializer=_worker_init) as pool:
        (warm_event, warm_invites), (warm_insert, _) = meetings[0]
        _race(pool, _register_job, warm_event, warm_invites, doctor_ids[:80])
        _race(pool, _insert_job, warm_insert, [None], doctor_ids[:80])
        for (event_id, invites), (insert_event, _invites) in meetings[1:]:
            elapsed, _ = _race(pool, _insert_job, insert_event, [None], doctor_ids)
            insert_s += elapsed
            elapsed, outcome = _race(pool, _register_job, event_id, invites, doctor_ids)
            service_s += elapsed
            _check(event_id, outcome)
    total = rounds * DOCTORS
    return {"rounds": rounds, "registrations_per_s": total / service_s, "inserts_per_s": total / insert_s,
            "pid": os.getpid()}


if __name__ == "__main__":
    child_main("tests.benchmarks.bench_registrations", measure)
