"""Check-in throughput on PostgreSQL over HTTP: 2,000 tickets scanned once each by 8 concurrent scanner clients
(POST /api/v1/events/{id}/checkins with a bearer token and a fresh nonce), against a minimal view doing one
single-row UPDATE on the ticket table (POST /__bench__/checkin-baseline/<secret>), in alternating rounds in the
same run and the same uvicorn process.

Needs PostgreSQL. With DATABASE_URL pointing at PostgreSQL the runner's (migrated) database is used; otherwise a
scratch database is created on 127.0.0.1:5432, migrated, and dropped at the end. The tickets are made by a child
process (`python -m tests.benchmarks.bench_checkin --prepare N`) so that Django is configured for that database
only there; it prints one JSON line.
"""

import asyncio
import json
import os
import sys
import time
import uuid
from collections import Counter

from tests.benchmarks.child import child_json, postgres_env
from tests.benchmarks.core import BASE_DIR, Context, Row
from tests.benchmarks.server import BenchmarkError, LoadResult, UvicornServer, drive_calls

TICKETS = 2000
WARMUP_TICKETS = 80
CLIENTS = 8
BASELINE_NAME = ("POST /__bench__/checkin-baseline/<secret>: one single-row UPDATE of events_ticket "
                 "(no auth, no lock, no scan row), same server, same clients")


# --------------------------------------------------------------------------------------------------------------
# Parent side (the runner's process)


def checkin(ctx: Context) -> list[Row]:
    """Check-ins per second and latency, 8 concurrent scanner clients, against a single-row UPDATE view."""
    with postgres_env(ctx, "bench_checkin") as env:
        prepared = child_json(env, "tests.benchmarks.bench_checkin", "--prepare", str(TICKETS + WARMUP_TICKETS),
                              timeout=900)
        server = UvicornServer(env=env, cwd=BASE_DIR, log_path=ctx.var_dir / "uvicorn-checkin.log")
        with server:
            checkins, baseline = _measure(server, prepared, rounds=max(ctx.options.rounds, 1))

    problems = []
    if checkins.statuses != Counter({201: TICKETS}) or checkins.errors:
        problems.append(f"check-ins answered {dict(checkins.statuses)} {dict(checkins.errors)}")
    if set(baseline.statuses) != {201} or baseline.errors:
        problems.append(f"baseline answered {dict(baseline.statuses)} {dict(baseline.errors)}")
    if checkins.client_bound() or baseline.client_bound():
        problems.append("client-bound")
    note = "; ".join(problems) or f"{CLIENTS} clients, {TICKETS} tickets"
    label = "check-in POST /api/v1/events/{id}/checkins"
    return [
        Row(f"{label}: throughput", checkins.requests_per_second, baseline.requests_per_second, "check-ins/s",
            BASELINE_NAME, note),
        *(
            Row(f"{label}: latency p{q}", checkins.percentile_ms(q), baseline.percentile_ms(q), "ms",
                BASELINE_NAME, note)
            for q in (50, 99)
        ),
    ]


async def _scan(base_url: str, requests: list[tuple[str, dict | None]], token: str) -> LoadResult:
    """POSTs every (path, body) once over CLIENTS keep-alive connections."""
    calls = [lambda client, path=path, body=body: client.post(path, json=body or {}) for path, body in requests]
    return await drive_calls(calls, concurrency=CLIENTS, timeout=60, headers={"Authorization": f"Bearer {token}"},
                             base_url=base_url)


def _checkin_requests(event_id: int, secrets: list[str]) -> list[tuple[str, dict]]:
    path = f"/api/v1/events/{event_id}/checkins"
    return [(path, {"secret": s, "nonce": uuid.uuid4().hex, "device": "bench"}) for s in secrets]


def _baseline_requests(secrets: list[str]) -> list[tuple[str, None]]:
    return [(f"/__bench__/checkin-baseline/{s}", None) for s in secrets]


def _measure(server: UvicornServer, prepared: dict, *, rounds: int) -> tuple[LoadResult, LoadResult]:
    secrets, token, event_id = prepared["secrets"], prepared["token"], prepared["event_id"]
    warm, measured = secrets[:WARMUP_TICKETS], secrets[WARMUP_TICKETS:]
    warmup = asyncio.run(_scan(server.base_url, _checkin_requests(event_id, warm), token))
    if warmup.failures() and set(warmup.statuses) != {201}:
        raise BenchmarkError(f"warm-up check-ins answered {dict(warmup.statuses)}:\n{server.log_tail()}")
    asyncio.run(_scan(server.base_url, _baseline_requests(warm), token))
    per_round = -(-len(measured) // rounds)
    checkins: list[LoadResult] = []
    baselines: list[LoadResult] = []
    for r in range(rounds):  # alternate so drift on a busy machine hits both
        chunk = measured[r * per_round:(r + 1) * per_round]
        if not chunk:
            break
        baselines.append(asyncio.run(_scan(server.base_url, _baseline_requests(chunk), token)))
        checkins.append(asyncio.run(_scan(server.base_url, _checkin_requests(event_id, chunk), token)))
    return LoadResult.merge(checkins), LoadResult.merge(baselines)


# --------------------------------------------------------------------------------------------------------------
# Child side (Django configured for the benchmark database)


def prepare(count: int) -> dict:
    """A meeting whose check-in is open, `count` confirmed registrations with tickets, a staff API token."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.benchmarks.settings")
    import django

    django.setup()
    from datetime import timedelta

    from django.contrib.auth.models import Group
    from django.utils import timezone
    from wagtail.models import APIToken, Page

    from events.pages.models import EventIndexPage, EventPage
    from events.registrations.models import Registration, Ticket
    from events.registrations.tickets import ticket_secret_new
    from members.accounts.models import User
    from members.hospitals.models import Department, Hospital
    from members.profiles.models import DoctorProfile

    run = f"{os.getpid()}-{int(time.time())}"
    index = EventIndexPage.objects.first()
    if index is None:
        index = EventIndexPage(title="学术会议", slug=f"meetings-bench-{run}")
        Page.get_first_root_node().get_children().first().add_child(instance=index)
    starts = timezone.now() + timedelta(minutes=30)
    event = EventPage(title="签到基准测试会议", slug=f"checkin-bench-{run}", topic="基准测试", starts_at=starts,
                      ends_at=starts + timedelta(hours=3), capacity=count)
    index.add_child(instance=event)

    hospital, _ = Hospital.objects.get_or_create(name="基准测试医院", city="上海市", defaults={"province": "上海市"})
    department, _ = Department.objects.get_or_create(code="bench", defaults={"name": "基准科", "name_en": "Bench"})
    users = User.objects.bulk_create([
        User(username=f"bench-checkin-{run}-{i}", email=f"bench-checkin-{run}-{i}@bench.engage.local",
             display_name=f"基准医生{i}")
        for i in range(count)
    ])
    DoctorProfile.objects.bulk_create([
        DoctorProfile(user=u, real_name=f"基准医生{i}", hospital=hospital, department=department, title="attending",
                      status="verified")
        for i, u in enumerate(users)
    ])
    registrations = Registration.objects.bulk_create([
        Registration(event=event, doctor=u, status=Registration.Status.CONFIRMED) for u in users
    ])
    tickets = Ticket.objects.bulk_create([
        Ticket(registration=r, event=event, secret=ticket_secret_new()) for r in registrations
    ])
    staff = User.objects.create(username=f"bench-checkin-staff-{run}", email=f"staff-{run}@bench.engage.local")
    staff.groups.add(Group.objects.get(name="marketing"))
    _token, token = APIToken.create_token(user=staff, name="bench scanner")
    return {"event_id": event.pk, "token": token, "secrets": [t.secret for t in tickets]}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--prepare":
        print(json.dumps(prepare(int(sys.argv[2]))))
    else:
        print("usage: python -m tests.benchmarks.bench_checkin --prepare N  (the runner calls this)")
        raise SystemExit(2)
