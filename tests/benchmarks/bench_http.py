"""Pages served through the full ASGI stack, each against a fixed string served by the same process."""

import math

from tests.benchmarks.core import Context, Row
from tests.benchmarks.server import BenchmarkError, LoadResult, drive

BASELINE_PATH = "/__bench__/baseline"
BASELINE_NAME = (
    f"GET {BASELINE_PATH}, a view returning a fixed string through the same uvicorn process and middleware"
)


def compare(ctx: Context, path: str) -> tuple[LoadResult, LoadResult]:
    """(page, baseline) under the same load, alternating in rounds so drift on a busy machine hits both."""
    server = ctx.server()
    options = ctx.options
    for target in (BASELINE_PATH, path):
        warmup = drive(server.base_url + target, requests=options.warmup, concurrency=options.concurrency)
        if warmup.failures():
            raise BenchmarkError(f"GET {target} during warm-up: {warmup.failures()}\n{server.log_tail()}")
    per_round = math.ceil(options.requests / options.rounds)
    results: dict[str, list[LoadResult]] = {BASELINE_PATH: [], path: []}
    for _ in range(options.rounds):
        for target in results:
            results[target].append(
                drive(server.base_url + target, requests=per_round, concurrency=options.concurrency)
            )
    return LoadResult.merge(results[path]), LoadResult.merge(results[BASELINE_PATH])


def page_rows(ctx: Context, label: str, path: str) -> list[Row]:
    """Throughput and latency of GET `path` for an anonymous visitor, against the baseline view."""
    page, baseline = compare(ctx, path)
    problems = [page.failures(), baseline.failures() and f"baseline {baseline.failures()}"]
    problems += ["client-bound" if page.client_bound() or baseline.client_bound() else ""]
    note = "; ".join(filter(None, problems))
    return [
        Row(f"{label}: throughput", page.requests_per_second, baseline.requests_per_second, "req/s",
            BASELINE_NAME, note),
        *(
            Row(f"{label}: latency p{q}", page.percentile_ms(q), baseline.percentile_ms(q), "ms",
                BASELINE_NAME, note)
            for q in (50, 99)
        ),
    ]


def home_page(ctx: Context) -> list[Row]:
    """The Wagtail home page (`/`), anonymous."""
    return page_rows(ctx, "GET / (Wagtail home page)", "/")
