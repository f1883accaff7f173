"""Academic points on PostgreSQL: awards per second with 8 concurrent workers against plain single-row inserts
into the same table in the same run, and the member page's SQL query count for a doctor with 10 vs 1,000
ledger rows (they must be equal).

Needs PostgreSQL. With DATABASE_URL pointing at PostgreSQL the runner's (migrated) database is used; otherwise a
scratch database is created on 127.0.0.1:5432, migrated, and dropped at the end (the output says which).
The measurement runs in a child process (`python -m tests.benchmarks.bench_points --measure`) so that Django is
configured for that database only there; it prints one JSON line the parent turns into Rows.
"""

import os
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from tests.benchmarks.child import (
    bench_doctors,
    child_main,
    close_database_before_fork,
    query_count,
    run_child,
    setup_django,
)
from tests.benchmarks.core import Context, Row

WORKERS = 8
AWARDS_PER_WORKER = 250  # per round
DOCTORS = 64  # the award workers spread over these accounts; each worker keeps to its own

AWARD_BASELINE = "plain single-row INSERTs into members_pointstransaction (ORM create, autocommit), same workers"
QUERY_BASELINE = "the same page for a doctor with 10 ledger rows"


# --------------------------------------------------------------------------------------------------------------
# Parent side (the runner's process)


def points(ctx: Context) -> list[Row]:
    """Points awards per second and the member page's query count, on PostgreSQL."""
    result = run_child(ctx, "tests.benchmarks.bench_points", str(max(ctx.options.rounds, 1)))
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


# --------------------------------------------------------------------------------------------------------------
# Child side (Django configured for the benchmark database)




def _worker_init() -> None:
    from django.db import connections

    connections.close_all()  # never share the parent's connection across fork


def _award_job(run: str, worker: int, count: int, user_ids: list[int]) -> int:
    from members.accounts.models import User
    from members.points.services import points_award

    users = list(User.objects.filter(pk__in=user_ids))
    paid = 0
    for n in range(count):
        user = users[n % len(users)]
        result = points_award(member=user, rule_code="bench_award", source=("bench.source", f"{run}-{worker}-{n}"))
        paid += result.awarded
    return paid


def _insert_job(run: str, worker: int, count: int, account_ids: list[int]) -> int:
    from members.points.models import PointsTransaction

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




def _ledger(user, n: int) -> None:
    from members.points.models import PointsAccount, PointsTransaction

    account = PointsAccount.objects.get(user=user)
    PointsTransaction.objects.filter(account=account).exists() or PointsTransaction.objects.bulk_create([
        PointsTransaction(account=account, amount=5, kind="earn", idempotency_key=f"bench-ledger:{user.pk}:{i}",
                          balance_after=5 * (i + 1), source_type="bench.source", source_id=str(i))
        for i in range(n)
    ])
    PointsAccount.objects.filter(pk=account.pk).update(balance=5 * n)




def measure(rounds: str) -> dict:
    rounds = int(rounds)
    setup_django()

    from members.consents.services import consent_give
    from members.points.models import PointsAccount, PointsRule

    PointsRule.objects.update_or_create(code="bench_award", defaults={
        "name": "benchmark", "points": 5, "daily_cap": None, "yearly_cap": None, "enabled": True,
        "active_from": None, "active_until": None})
    doctors = bench_doctors("bench-points-", DOCTORS)
    user_groups = [[u.pk for u in doctors[w::WORKERS]] for w in range(WORKERS)]
    account_ids = dict(PointsAccount.objects.filter(user__in=doctors).values_list("user_id", "pk"))
    account_groups = [[account_ids[uid] for uid in group] for group in user_groups]

    small, large = bench_doctors("bench-page-small-", 1)[0], bench_doctors("bench-page-large-", 1)[0]
    for doctor in (small, large):  # the member pages ask for the privacy consent first (a redirect otherwise)
        consent_give(user=doctor, kind="privacy")
    _ledger(small, 10)
    _ledger(large, 1000)
    queries = {
        "queries_small": query_count(small, "/members/me/"),
        "queries_large": query_count(large, "/members/me/"),
        "points_page_small": query_count(small, "/members/me/points/"),
        "points_page_large": query_count(large, "/members/me/points/"),
    }

    close_database_before_fork()
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
    child_main("tests.benchmarks.bench_points", measure)
