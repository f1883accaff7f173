"""Runs every benchmark and prints one table: each figure, the baseline measured in the same run, their ratio.

    .venv/bin/python -m tests.benchmarks [--requests 2000] [--concurrency 16] [--only home,points] [--skip live]

Prepares a throw-away var dir (ENGAGE_VAR_DIR), migrates and seeds the demo data, then calls each function
in BENCHMARKS with a Context. A benchmark returns Rows; to add one, write `def name(ctx) -> list[Row]` in a
module here and append it to BENCHMARKS. With DATABASE_URL / REDIS_URL set, the run uses (and migrates and
seeds) that PostgreSQL database and Redis instead of the embedded default: point them at scratch instances.
"""

import argparse
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from tests.benchmarks import (
    bench_checkin,
    bench_content,
    bench_exams,
    bench_http,
    bench_live,
    bench_messaging,
    bench_points,
    bench_registrations,
    bench_reminders,
)
from tests.benchmarks.core import BASE_DIR, Context, Options, Row, vacuum_database
from tests.benchmarks.server import BenchmarkError, cpu_count

SETTINGS_MODULE = "tests.benchmarks.settings"


BENCHMARKS: list[Callable[[Context], list[Row]]] = [
    bench_http.home_page,
    bench_points.points,
    bench_content.content_article_page,
    bench_content.content_queries_and_search,
    bench_checkin.checkin,
    bench_registrations.registrations,
    bench_reminders.reminders,
    bench_messaging.messaging,
    bench_live.live,
    bench_exams.exams,
]


def _environment(var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
        ENGAGE_VAR_DIR=str(var_dir),
        PYTHONPATH=os.pathsep.join(filter(None, [str(BASE_DIR), env.get("PYTHONPATH")])),
        PYTHONUNBUFFERED="1",
    )
    env.setdefault("LOG_LEVEL", "WARNING")
    # seed_demo takes content through the review workflow, which mails the demo reviewers: not worth printing.
    env.setdefault("EMAIL_BACKEND", "django.core.mail.backends.dummy.EmailBackend")
    return env


def _describe(env: dict[str, str]) -> str:
    database = "PostgreSQL" if env.get("DATABASE_URL", "").startswith("postgres") else "SQLite (embedded)"
    cache = "Redis" if env.get("REDIS_URL") else "file cache (embedded)"
    return (
        f"Python {platform.python_version()}, {cpu_count()} CPUs, {database}, {cache}, "
        f"DB_POOL_MAX_SIZE={env.get('DB_POOL_MAX_SIZE') or '20'}, DB_CONN_MAX_AGE={env.get('DB_CONN_MAX_AGE', '0')}, "
        f"BENCH_WORKERS={env.get('BENCH_WORKERS', '1')}"
    )


def _format(value: float) -> str:
    if value != value:  # NaN
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def print_table(rows: list[Row], out=sys.stdout) -> None:
    header = ("benchmark", "figure", "baseline", "unit", "ratio")
    cells = [header] + [
        (r.name + (f"  [{r.note}]" if r.note else ""), _format(r.figure), _format(r.baseline), r.unit,
         f"{r.ratio:.2f}x" if r.ratio == r.ratio else "-")
        for r in rows
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    for n, cell in enumerate(cells):
        name, figure, baseline, unit, ratio = cell
        line = [name.ljust(widths[0]), figure.rjust(widths[1]), baseline.rjust(widths[2]),
                unit.ljust(widths[3]), ratio.rjust(widths[4])]
        print("  ".join(line).rstrip(), file=out)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=out)
    baselines = list(dict.fromkeys(r.baseline_name for r in rows if r.baseline_name))
    for text in baselines:
        print(f"baseline: {text}", file=out)
    print("ratio = figure / baseline", file=out)


def _terminate(signum, frame):
    raise SystemExit(128 + signum)  # runs the finally blocks, which stop the server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per target (2000)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent connections (16)")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured requests per target first (200)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per comparison (4)")
    parser.add_argument("--only", default="", help="run the benchmarks whose name contains one of these (a,b)")
    parser.add_argument("--skip", default="", help="leave out the benchmarks whose name contains one of these")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)

    only = [name for name in args.only.split(",") if name] or [""]
    skip = [name for name in args.skip.split(",") if name]
    selected = [b for b in BENCHMARKS
                if any(name in b.__name__ for name in only) and not any(name in b.__name__ for name in skip)]
    var_dir = Path(tempfile.mkdtemp(prefix="engage-bench-"))
    env = _environment(var_dir)
    options = Options(args.requests, args.concurrency, args.warmup, args.rounds)
    ctx = Context(env=env, var_dir=var_dir, options=options)
    rows: list[Row] = []
    failed: list[str] = []
    started = time.monotonic()
    try:
        print(_describe(env), flush=True)
        print("Preparing: migrate, seed_demo …", flush=True)
        (var_dir / "static").mkdir(exist_ok=True)  # STATIC_ROOT; whitenoise warns when it is missing
        if os.environ.get("BENCH_PREPARED") != "1":  # 1: the database is one an earlier run migrated and seeded
            ctx.manage("migrate", "--noinput", "-v", "0")
            ctx.manage("seed_demo", "--force", "-v", "0")
        for benchmark in selected:
            vacuum_database(env)
            print(f"Running {benchmark.__name__} …", flush=True)
            try:
                rows.extend(benchmark(ctx))
            except BenchmarkError as exc:
                failed.append(f"{benchmark.__name__}: {exc}")
            except Exception:
                failed.append(f"{benchmark.__name__}:\n{traceback.format_exc()}")
    finally:
        ctx.close()
        shutil.rmtree(var_dir, ignore_errors=True)

    print()
    print_table(rows)
    print(f"({time.monotonic() - started:.0f}s; {args.requests} requests per target, "
          f"concurrency {args.concurrency}, in {args.rounds} alternating rounds, "
          f"after {args.warmup} warm-up requests)")
    for message in failed:
        print(f"FAILED {message}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
