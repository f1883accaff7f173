"""Exam-start spike on PostgreSQL over HTTP: N reps (500 by default; BENCH_EXAM_REPS for a smoke run) start the
same 30-question random exam (30 drawn from a bank of 100) at once, each answers every question and submits, all
through the API with their own bearer token (POST /api/v1/learning/exams/{id}/attempts, PUT …/answers/{n},
POST …/submit). Figures: attempt starts per second with p50/p99, answers saved per second, submit p99; baseline in
the same run and the same uvicorn process: one plain single-row INSERT per request (into learning_examdraw, no auth)
at the same concurrency. Targets: starts ≥ 0.3× the baseline, answer saves ≥ 0.5×.

Each run checks the outcome: every rep has exactly one submitted attempt with 30 answered questions.
The data are made by a child process (`python -m tests.benchmarks.bench_exams --prepare N`), printed as JSON.
"""

import asyncio
import json
import os
import sys
import time

from tests.benchmarks.child import child_json, postgres_env
from tests.benchmarks.core import BASE_DIR, Context, Row
from tests.benchmarks.server import BenchmarkError, LoadResult, UvicornServer, drive_calls

QUESTIONS, BANK = 30, 100
CONCURRENCY = 64  # connections the reps' phones arrive on at once (uvicorn runs the views on its thread pool)
BASELINE_NAME = ("POST /__bench__/exam-baseline/<exam>/<category>: one plain single-row INSERT into learning_examdraw "
                 "(no auth), same server, same concurrency")


def _reps() -> int:
    return max(int(os.environ.get("BENCH_EXAM_REPS", "500")), 1)


# --------------------------------------------------------------------------------------------------------------
# Parent side (the runner's process)


def exams(ctx: Context) -> list[Row]:
    """Attempt starts, answer saves and submits of N reps on one random exam, against a single-row INSERT view."""
    reps = _reps()
    with postgres_env(ctx, "bench_exams") as env:
        prepared = child_json(env, "tests.benchmarks.bench_exams", "--prepare", str(reps), timeout=900)
        server = UvicornServer(env=env, cwd=BASE_DIR, log_path=ctx.var_dir / "uvicorn-exams.log")
        with server:
            result = _measure(server, prepared)
        checked = child_json(env, "tests.benchmarks.bench_exams", "--check", str(prepared["exam_id"]), timeout=300)

    problems = []
    for name, load, ok in (("starts", result["starts"], 201), ("answers", result["answers"], 200),
                           ("submits", result["submits"], 200), ("baseline", result["baseline"], 201)):
        if set(load.statuses) != {ok} or load.errors:
            problems.append(f"{name} answered {dict(load.statuses)} {dict(load.errors)}")
        if load.client_bound():
            problems.append(f"{name}: client-bound")
    if checked != {"submitted": reps, "answered": reps * QUESTIONS, "open": 0}:
        problems.append(f"outcome {checked}")
    note = "; ".join(problems) or f"{reps} reps, {QUESTIONS} of {BANK} questions, {CONCURRENCY} connections"
    starts, answers, submits, baseline = result["starts"], result["answers"], result["submits"], result["baseline"]
    label = "exam"
    return [
        Row(f"{label}: attempt starts (target ≥ 0.3×)", starts.requests_per_second, baseline.requests_per_second,
            "starts/s", BASELINE_NAME, note),
        Row(f"{label}: attempt start p50", starts.percentile_ms(50), baseline.percentile_ms(50), "ms",
            BASELINE_NAME, note),
        Row(f"{label}: attempt start p99", starts.percentile_ms(99), baseline.percentile_ms(99), "ms",
            BASELINE_NAME, note),
        Row(f"{label}: answers saved (target ≥ 0.5×)", answers.requests_per_second, baseline.requests_per_second,
            "answers/s", BASELINE_NAME, note),
        Row(f"{label}: submit p99", submits.percentile_ms(99), baseline.percentile_ms(99), "ms", BASELINE_NAME,
            note),
    ]


async def _start_all(base_url: str, exam_id: int, tokens: list[str], bodies: dict) -> LoadResult:
    def call(i):
        async def run(client):
            response = await client.post(f"/api/v1/learning/exams/{exam_id}/attempts",
                                          headers={"Authorization": f"Bearer {tokens[i]}"})
            if response.status_code == 201:
                bodies[i] = response.json()
            return response
        return run

    return await drive_calls([call(i) for i in range(len(tokens))], concurrency=CONCURRENCY, timeout=120,
                             base_url=base_url)


async def _answer_all(base_url: str, tokens: list[str], bodies: dict) -> LoadResult:
    calls = []
    for i, body in bodies.items():
        for question in body["questions"]:
            path = f"/api/v1/learning/attempts/{body['attempt_id']}/answers/{question['position']}"
            payload = {"answer": question["options"][0]["key"], "seq": 1}
            calls.append(lambda client, path=path, payload=payload, token=tokens[i]: client.put(
                path, json=payload, headers={"Authorization": f"Bearer {token}"}))
    # Reps answer in parallel, not one rep's questions in a row: interleave by position.
    calls = [calls[j] for k in range(QUESTIONS) for j in range(k, len(calls), QUESTIONS)]
    return await drive_calls(calls, concurrency=CONCURRENCY, timeout=120, base_url=base_url)


async def _submit_all(base_url: str, tokens: list[str], bodies: dict) -> LoadResult:
    calls = [lambda client, a=body["attempt_id"], token=tokens[i]: client.post(
        f"/api/v1/learning/attempts/{a}/submit", headers={"Authorization": f"Bearer {token}"})
        for i, body in bodies.items()]
    return await drive_calls(calls, concurrency=CONCURRENCY, timeout=120, base_url=base_url)


async def _baseline(base_url: str, prepared: dict, count: int) -> LoadResult:
    path = f"/__bench__/exam-baseline/{prepared['baseline_exam_id']}/{prepared['category_id']}"
    calls = [lambda client: client.post(path)] * count
    return await drive_calls(calls, concurrency=CONCURRENCY, timeout=120, base_url=base_url)


def _measure(server: UvicornServer, prepared: dict) -> dict:
    tokens, exam_id = prepared["tokens"], prepared["exam_id"]
    warm = asyncio.run(_baseline(server.base_url, prepared, 50))
    if warm.failures() and set(warm.statuses) != {201}:
        raise BenchmarkError(f"baseline warm-up answered {dict(warm.statuses)}:\n{server.log_tail()}")
    bodies: dict[int, dict] = {}
    before = asyncio.run(_baseline(server.base_url, prepared, len(tokens)))
    starts = asyncio.run(_start_all(server.base_url, exam_id, tokens, bodies))
    answers = asyncio.run(_answer_all(server.base_url, tokens, bodies))
    submits = asyncio.run(_submit_all(server.base_url, tokens, bodies))
    after = asyncio.run(_baseline(server.base_url, prepared, len(tokens) * QUESTIONS))
    return {"starts": starts, "answers": answers, "submits": submits,
            "baseline": LoadResult.merge([before, after])}


# --------------------------------------------------------------------------------------------------------------
# Child side (Django configured for the benchmark database)


def _setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.benchmarks.settings")
    import django

    django.setup()


def prepare(count: int) -> dict:
    """A bank of 100 questions, an exam drawing 30 of them, `count` reps with API tokens, a baseline exam."""
    _setup()
    from django.contrib.auth.models import Group
    from wagtail.models import APIToken

    from learning.exams.models import Exam, ExamDraw
    from learning.questions.models import Question, QuestionCategory, QuestionVersion
    from members.accounts.models import User

    run = f"{os.getpid()}-{int(time.time())}"
    category = QuestionCategory.objects.create(name=f"基准题库 {run}", kind="compliance")
    questions = Question.objects.bulk_create([Question(category=category, kind="single", difficulty=2)
                                              for _i in range(BANK)])
    versions = QuestionVersion.objects.bulk_create([
        QuestionVersion(question=q, number=1, text=f"基准问题 {i}",
                        options=[{"key": k, "text": f"选项{k}", "correct": k == "A"} for k in "ABCD"])
        for i, q in enumerate(questions)])
    for question, version in zip(questions, versions, strict=True):
        question.current_version = version
    Question.objects.bulk_update(questions, ["current_version"])
    exam = Exam.objects.create(title=f"基准考试 {run}", time_limit_minutes=60, attempts_allowed=0,
                               pass_mark_percent=60)
    ExamDraw.objects.create(exam=exam, category=category, count=QUESTIONS)
    baseline_exam = Exam.objects.create(title=f"基准对照 {run}", is_active=False)
    reps = User.objects.bulk_create([
        User(username=f"bench-exam-{run}-{i}", email=f"bench-exam-{run}-{i}@bench.engage.local",
             display_name=f"基准代表{i}") for i in range(count)])
    Group.objects.get(name="rep").user_set.add(*reps)
    tokens = [APIToken.create_token(user=rep, name="bench exam")[1] for rep in reps]
    return {"exam_id": exam.pk, "baseline_exam_id": baseline_exam.pk, "category_id": category.pk, "tokens": tokens}


def check(exam_id: int) -> dict:
    _setup()
    from learning.exams.models import Attempt, AttemptQuestion

    attempts = Attempt.objects.filter(exam_id=exam_id)
    return {"submitted": attempts.filter(status="submitted").count(),
            "answered": AttemptQuestion.objects.filter(attempt__exam_id=exam_id, answer__isnull=False).count(),
            "open": attempts.filter(status="open").count()}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--prepare":
        print(json.dumps(prepare(int(sys.argv[2]))))
    elif len(sys.argv) == 3 and sys.argv[1] == "--check":
        print(json.dumps(check(int(sys.argv[2]))))
    else:
        print("usage: python -m tests.benchmarks.bench_exams --prepare N | --check EXAM  (the runner calls this)")
        raise SystemExit(2)
