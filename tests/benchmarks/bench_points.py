"""Academic points on PostgreSQL: awards per second with 8 concurrent workers against plain single-row inserts
into the same table in the same run, and the member page's SQL query count for a doctor with 10 vs 1,000
ledger rows (they must be equal).

Needs PostgreSQL. With DATABASE_URL pointing at PostgreSQL the runner's (migrated) database is used; otherwise a
scratch database is created on 127.0.0.1:5432, migrated, and dropped at the end (the output says which).
The measurement runs in a child process (`python -m tests.benchmarks.bench_points --measure`) so that Django is
configured for that database only there; it prints one JSON line the parent turns into Rows.
"""

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from tests.benchmarks.core import BASE_DIR, Context, Row
from tests.benchmarks.server import BenchmarkError

WORKERS = 8
AWARDS_PER_WORKER = 250  # per round
DOCTORS = 64  # the award workers spread over these accounts; each worker keeps to its own
SCRATCH_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"

AWARD_BASELINE = "plain single-row INSERTs into members_pointstransaction (ORM create, autocommit), same workers"
QUERY_BASELINE = "the same page for a doctor with 10 ledger rows"


# --------------------------------------------------------------------------------------------------------------
# Parent side (the runner's process)


def points(ctx: Context) -> list[Row]:
    """Points awards per second and the member page's query count, on PostgreSQL."""
    env = dict(ctx.env)
    scratch = None
    if env.get("DATABASE_URL", "").startswith("postgres"):
        where = "the runner's DATABASE_URL"
    else:
        scratch = f"engage_bench_points_{os.getpid()}"
        _admin_sql(f'CREATE DATABASE "{scratch}"')
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{scratch}"
        where = f"scratch database {scratch} on 127.0.0.1:5432 (created and dropped by this benchmark)"
    print(f"  bench_points: PostgreSQL from {where}", flush=True)
    try:
        if scratch:
            subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=BASE_DIR, env=env,
                           check=True)
        rounds = str(max(ctx.options.rounds, 1))
        done = subprocess.run([sys.executable, "-m", "tests.benchmarks.bench_points", "--measure", rounds],
                              cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            raise BenchmarkError(f"measurement failed:\n{done.stderr[-3000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        if scratch:
            _admin_sql(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    note = "" if result["queries_small"] == result["queries_large"] else "NOT EQUAL"
    awards_note = f"{WORKERS} workers, {result['awards']} awards"
    return [
        Row("points_award (8 workers, distinct sources)", result["awards_per_s"], result["inserts_per_s"],
            "awards/s", AWARD_BASELINE, awards_note),
        Row("member page SQL queries, doctor with 1,000 transactions", result["queries_large"],
            result["queries_small"], "queries", QUERY_BASELINE, note),
        Row("points page SQL queries, doctor with 1,000 transactions", result["points_page_large"],
            result["points_page_small"], "queries", QUERY_BASELINE,
            "" if result["points_page_small"] == result["points_page_large"] else "NOT EQUAL"),
    ]


def _admin_sql(statement: str) -> None:
    import psycopg

    with psycopg.connect(SCRATCH_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(statement)


# --------------------------------------------------------------------------------------------------------------
# Child side (Django configured for the benchmark database)


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.benchmarks.settings")
    import django

    django.setup()


def _worker_init() -> None:
    from django.db import connections

    connections.close_all()  # never share the parent's connection across fork


def _award_job(run: str, worker: int, count: int, user_ids: list[int]) -> int:
    from members.models import User
    from members.services import points_award

    users = list(User.objects.filter(pk__in=user_ids))
    paid = 0
    for n in range(count):
        user = users[n % len(users)]
        result = points_award(member=user, rule_code="bench_award", source=("bench.source", f"{run}-{worker}-{n}"))
        paid += result.awarded
    return paid


def _insert_job(run: str, worker: int, count: int, account_ids: list[int]) -> int:
    from members.models import PointsTransaction

    for n in range(count):
        PointsTransaction.objects.create(account_id=account_ids[n % len(account_ids)], amount=5, kind="earn",
                                         idempotency_key=f"bench-insert:{run}:{worker}:{n}", balance_after=5,
                                         source_type="bench.source", source_id=f"{worker}-{n}")
    return count


def _timed(pool, job, run: str, count: int, groups: list[list[int]]) -> float:
    started = time.perf_counter()
    futures = [pool.submit(job, run, w, count, groups[w]) for w in range(WORKERS)]
    done = sum(f.result() for f in futures)
    elapsed = time.perf_counter() - started
    if done != WORKERS * count:
        raise RuntimeError(f"{job.__name__}: {done} of {WORKERS * count} writes happened")
    return elapsed


def _doctors(prefix: str, n: int):
    from django.contrib.auth.models import Group

    from members.models import Department, DoctorProfile, Hospital, PointsAccount, User

    hospital, _ = Hospital.objects.get_or_create(name="基准测试医院", city="上海市", defaults={"province": "上海市"})
    department, _ = Department.objects.get_or_create(code="bench", defaults={"name": "基准科", "name_en": "Bench"})
    group = Group.objects.get(name="doctor")
    users = []
    for i in range(n):
        user, created = User.objects.get_or_create(username=f"{prefix}{i}", defaults={
            "email": f"{prefix}{i}@bench.engage.local"})
        if created:
            user.groups.add(group)
            DoctorProfile.objects.create(user=user, real_name=f"基准{i}", hospital=hospital, department=department,
                                         title="attending", status="verified")
        PointsAccount.objects.get_or_create(user=user)
        users.append(user)
    return users


def _ledger(user, n: int) -> None:
    from members.models import PointsAccount, PointsTransaction

    account = PointsAccount.objects.get(user=user)
    PointsTransaction.objects.filter(account=account).exists() or PointsTransaction.objects.bulk_create([
        PointsTransaction(account=account, amount=5, kind="earn", idempotency_key=f"bench-ledger:{user.pk}:{i}",
                          balance_after=5 * (i + 1), source_type="bench.source", source_id=str(i))
        for i in range(n)
    ])
    PointsAccount.objects.filter(pk=account.pk).update(balance=5 * n)


def _query_count(user, path: str) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    client.get(path)  # warm up: content types, session
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}")
    return len(ctx.captured_queries)


def measure(rounds: int) -> dict:
    _setup_django()
    from django.db import connections

    from members.models import PointsAccount, PointsRule

    PointsRule.objects.update_or_create(code="bench_award", defaults={
        "name": "benchmark", "points": 5, "daily_cap": None, "yearly_cap": None, "enabled": True,
        "active_from": None, "active_until": None})
    doctors = _doctors("bench-points-", DOCTORS)
    user_groups = [[u.pk for u in doctors[w::WORKERS]] for w in range(WORKERS)]
    account_ids = dict(PointsAccount.objects.filter(user__in=doctors).values_list("user_id", "pk"))
    account_groups = [[account_ids[uid] for uid in group] for group in user_groups]

    small, large = _doctors("bench-page-small-", 1)[0], _doctors("bench-page-large-", 1)[0]
    _ledger(small, 10)
    _ledger(large, 1000)
    queries = {
        "queries_small": _query_count(small, "/members/me/"),
        "queries_large": _query_count(large, "/members/me/"),
        "points_page_small": _query_count(small, "/members/me/points/"),
        "points_page_large": _query_count(large, "/members/me/points/"),
    }

    connections.close_all()
    run = f"{os.getpid()}-{int(time.time())}"
    award_s = insert_s = 0.0
    with ProcessPoolExecutor(WORKERS, mp_context=get_context("fork"), initializer=_worker_init) as pool:
        _timed(pool, _award_job, f"{run}-warm", 20, user_groups)
        _timed(pool, _insert_job, f"{run}-warm", 20, account_groups)
        for r in range(rounds):  # alternate so drift on a busy machine hits both
            insert_s += _timed(pool, _insert_job, f"{run}-{r}", AWARDS_PER_WORKER, account_groups)
            award_s += _timed(pool, _award_job, f"{run}-{r}", AWARDS_PER_WORKER, user_groups)
    total = rounds * WORKERS * AWARDS_PER_WORKER
    return {"awards": total, "awards_per_s": total / award_s, "inserts_per_s": total / insert_s, **queries}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--measure":
        print(json.dumps(measure(int(sys.argv[2]))))
    else:
        print("usage: python -m tests.benchmarks.bench_points --measure ROUNDS  (the runner calls this)")
        raise SystemExit(2)
