"""Benchmarks that measure inside Django run in a child process on PostgreSQL; this is their shared plumbing.

Parent side: `run_child(ctx, module, *args)` uses the runner's DATABASE_URL when it is PostgreSQL, otherwise
creates a scratch database on 127.0.0.1:5432, migrates it and drops it afterwards; it runs
`python -m <module> --measure <args>` there and returns the JSON object the child printed on its last line.
Child side: `setup_django()`, `bench_doctors()` and `query_count()`.
"""

import json
import os
import subprocess
import sys
from contextlib import contextmanager

from tests.benchmarks.core import BASE_DIR, Context
from tests.benchmarks.server import BenchmarkError

SCRATCH_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def admin_sql(statement: str) -> None:
    import psycopg

    with psycopg.connect(SCRATCH_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(statement)


@contextmanager
def postgres_env(ctx: Context, name: str):
    """The runner's environment pointed at PostgreSQL: the runner's DATABASE_URL when it is PostgreSQL, otherwise
    a scratch database created and migrated here and dropped when the block ends."""
    env = dict(ctx.env)
    scratch = None
    if env.get("DATABASE_URL", "").startswith("postgres"):
        where = "the runner's DATABASE_URL"
    else:
        scratch = f"engage_{name}_{os.getpid()}"
        admin_sql(f'CREATE DATABASE "{scratch}"')
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{scratch}"
        where = f"scratch database {scratch} on 127.0.0.1:5432 (created and dropped by this benchmark)"
    print(f"  {name}: PostgreSQL from {where}", flush=True)
    try:
        if scratch:
            subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=BASE_DIR, env=env,
                           check=True)
        yield env
    finally:
        if scratch:
            admin_sql(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


def child_json(env: dict, module: str, *args: str, timeout: int = 1800) -> dict:
    """Runs `python -m <module> ARGS…` in `env`; the JSON object it printed on its last line."""
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise BenchmarkError(f"{module} {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_child(ctx: Context, module: str, *args: str, timeout: int = 1800) -> dict:
    with postgres_env(ctx, module.rsplit(".", 1)[-1]) as env:
        return child_json(env, module, "--measure", *args, timeout=timeout)


def child_main(module: str, measure) -> None:
    """`python -m <module> --measure ARGS…` prints measure(*ARGS) as one JSON line."""
    if len(sys.argv) >= 2 and sys.argv[1] == "--measure":
        print(json.dumps(measure(*sys.argv[2:])))
    else:
        print(f"usage: python -m {module} --measure ARGS  (the runner calls this)")
        raise SystemExit(2)


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.benchmarks.settings")
    import django

    django.setup()


def close_database_before_fork() -> None:
    """Closes this process's database connections and connection pool before it forks workers: each child must
    open its own (a psycopg pool's connections and threads do not survive a fork; a child taking the parent's
    pooled connection would share its socket)."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        connection.close()
        if connection.alias in getattr(type(connection), "_connection_pools", {}):
            connection.close_pool()


def bench_doctors(prefix: str, n: int):
    """`n` verified doctors (created once) at one benchmark hospital."""
    from django.contrib.auth.models import Group

    from members.accounts.models import User
    from members.consents.models import ConsentKind
    from members.consents.selectors import privacy_consent_needed
    from members.consents.services import consent_give
    from members.hospitals.models import Department, Hospital
    from members.points.models import PointsAccount
    from members.profiles.models import DoctorProfile

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
        if privacy_consent_needed(user):  # pages send a doctor without it to the consent page first
            consent_give(user=user, kind=ConsentKind.PRIVACY)
        users.append(user)
    return users


def query_count(user, path: str) -> int:
    """SQL queries of a second GET `path` (the first warms content types and the session); must answer 200."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    if user is not None:
        client.force_login(user)
    client.get(path)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}")
    return len(captured.captured_queries)
