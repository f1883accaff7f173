"""Medication reminders: N dose events falling due in the same minute (100,000 by default, as the issue asks),
dispatched by a real Celery worker (`celery -A engage worker`, prefork) through Redis to the fake Twilio server.
Reports the time until every reminder was handed over to the provider, p50/p99 lateness per dose (provider
acceptance − due time), and duplicates (must be 0), next to a baseline measured in the same run: bulk-inserting
the same number of outbox rows.

    .venv/bin/python -m tests.benchmarks --only reminders          # N=100,000, about 6 minutes on 2 cores
    BENCH_REMINDERS_N=2000 .venv/bin/python -m tests.benchmarks --only reminders   # a quick look
    BENCH_REMINDERS_CONCURRENCY=1 …   # worker processes (prefork --concurrency, default 4): how it scales out

The pipeline under test: the minute tick claims due doses 500 at a time (`FOR UPDATE SKIP LOCKED`) and fans them
out as tasks of 100; each task writes its 100 reminders with one INSERT, links them with one UPDATE, then sends
them from the same worker (one claim for the batch; groups of ENGAGE_MESSAGING_SENDS_IN_FLIGHT started in one
commit and sent at once on twilio's asynchronous client in the process's sender loop).

Needs PostgreSQL and Redis. The database is the runner's DATABASE_URL when it is PostgreSQL, else a scratch database
(created, migrated, dropped); Redis is REDIS_URL, else redis://127.0.0.1:6379/15, with a queue of its own so no
other worker takes these tasks. The provider rate limit is switched off for the run (it measures our pipeline, not
Twilio's allowance). Dose rows are bulk-inserted as the beat's materialisation would leave them, then moved to the
next whole minute once the worker is up; the tick task is queued twice at the due minute, as a beat tick and a
redelivery would.
"""

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.benchmarks.child import child_main, run_child, setup_django
from tests.benchmarks.core import BASE_DIR, Context, Row

DEFAULT_N = 100_000
PLANS_PER_PATIENT = 10
HANDOVER_TIMEOUT_S = 1200
WORKER_CONCURRENCY = int(os.environ.get("BENCH_REMINDERS_CONCURRENCY", 4))
BASELINE = "bulk INSERT of the same number of outbox rows (bulk_create, 1,000 per statement), same run"


def reminders(ctx: Context) -> list[Row]:
    """Reminders handed over by a real worker vs bulk outbox inserts."""
    n = int(os.environ.get("BENCH_REMINDERS_N", DEFAULT_N))
    print(f"  bench_reminders: {n:,} dose events due in the same minute", flush=True)
    result = run_child(ctx, "tests.benchmarks.bench_reminders", str(n), timeout=HANDOVER_TIMEOUT_S + 900)
    note = f"N={result['n']:,}, {result['worker_concurrency']} worker processes"
    if result["handed_over"] != result["n"]:
        note += f", ONLY {result['handed_over']:,} HANDED OVER"
    if result["duplicates"]:
        note += f", {result['duplicates']} DUPLICATES"
    return [
        Row("reminders: time until all handed over to the provider", result["handover_s"], result["baseline_s"], "s",
            BASELINE, note),
        Row("reminders: handed over per second", result["per_s"], result["baseline_per_s"], "rows/s", BASELINE),
        Row("reminders: lateness per dose p50", result["p50_s"], result["baseline_s"], "s", BASELINE),
        Row("reminders: lateness per dose p99", result["p99_s"], result["baseline_s"], "s", BASELINE),
        Row("reminders: duplicate sends (must be 0)", result["duplicates"], 0, "sends", BASELINE),
    ]


# --------------------------------------------------------------------------------------------------------------
# Child side: python -m tests.benchmarks.bench_reminders --measure N


def _redis_url() -> str:
    return os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"


def _seed(n: int, due_at: datetime, zone):
    from engage.core.crypto import lookup_hash
    from engage.reminders.models import (
        DoseEvent,
        MedicationPlan,
        Patient,
        PatientConsent,
        Programme,
        ProgrammeConsentText,
    )

    programme = Programme.objects.create(name=f"bench-{os.getpid()}", sponsor="bench", quiet_start=None,
                                         quiet_end=None)
    ProgrammeConsentText.objects.create(programme=programme, version="1", text="t", health_info_text="h")
    local = due_at.astimezone(zone)
    patients = []
    for i in range((n + PLANS_PER_PATIENT - 1) // PLANS_PER_PATIENT):
        mobile = f"+8617{os.getpid() % 1000:03d}{i:06d}"
        patients.append(Patient(programme=programme, name=f"基准{i}", mobile=mobile, mobile_hash=lookup_hash(mobile),
                                enrolment_method="self_qr", preferred_channel="sms"))
    Patient.objects.bulk_create(patients, batch_size=2000)
    patients = list(Patient.objects.filter(programme=programme).order_by("pk"))
    PatientConsent.objects.bulk_create(
        [PatientConsent(patient=p, kind=k, text_version="1", method="self_qr", given_at=due_at)
         for p in patients for k in ("programme", "health_information", "sms")], batch_size=5000)
    horizon = due_at + timedelta(days=3)  # the beat must not materialise anything else for these plans
    plans = [MedicationPlan(patient=p, drug=f"药{j}", dose_text="1 片", times=[f"{local:%H:%M}"],
                            start_date=local.date(), materialised_until=horizon)
             for p in patients for j in range(PLANS_PER_PATIENT)][:n]
    MedicationPlan.objects.bulk_create(plans, batch_size=5000)
    plans = MedicationPlan.objects.filter(patient__programme=programme).only("pk", "patient_id")
    DoseEvent.objects.bulk_create(
        [DoseEvent(plan_id=plan.pk, patient_id=plan.patient_id, local_date=local.date(),
                   local_time=local.time().replace(second=0, microsecond=0), due_at=due_at) for plan in plans],
        batch_size=5000)
    return programme


def _baseline(n: int) -> float:
    """Bulk insert of n outbox rows, timed, then removed."""
    from engage.messaging.models import OutboundMessage

    run = f"bench-baseline-{os.getpid()}-{time.time_ns()}"
    rows = [OutboundMessage(channel="sms", recipient=f"+8617{i:09d}", template_key="dose_reminder",
                            params={"time": "08:00", "drug": "药", "dose": "1"}, idempotency_key=f"{run}:{i}",
                            purpose="bench") for i in range(n)]
    started = time.perf_counter()
    OutboundMessage.objects.bulk_create(rows, batch_size=1000)
    elapsed = time.perf_counter() - started
    OutboundMessage.objects.filter(idempotency_key__startswith=run).delete()
    return elapsed


def _analyze() -> None:
    """PostgreSQL: ANALYZE the tables this benchmark just grew by 100,000 rows, as autovacuum does after such a change
    (this machine's CI server runs without it). On statistics of the small tables of before, the database's own
    foreign-key checks of the clean-up's deletes were planned as sequential scans: 100,000 deletes, each scanning
    100,000 dose events, ran for over ten minutes."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE reminders_patient, reminders_patientconsent, reminders_medicationplan, "
                           "reminders_doseevent, messaging_outboundmessage")


def _start_worker(queue: str, twilio_url: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "BENCH_QUEUE": queue, "BENCH_TWILIO_URL": twilio_url, "REDIS_URL": _redis_url()}
    out = open(log, "wb")  # closed when the process ends
    return subprocess.Popen(
        [sys.executable, "-m", "tests.benchmarks.bench_reminders", "--worker"], cwd=BASE_DIR, env=env, stdout=out,
        stderr=subprocess.STDOUT)


def _configure(queue: str, twilio_url: str, fake=None) -> None:
    """The same overrides in the measuring process and the worker: the fake Twilio, no rate limit, own queue."""
    from django.conf import settings

    from engage.celery import app

    settings.TWILIO_ACCOUNT_SID = "AC" + "b" * 32
    settings.TWILIO_AUTH_TOKEN = "bench-token"
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "b" * 32
    settings.ENGAGE_SMS_BACKEND = "engage.messaging.backends.TwilioSmsBackend"
    settings.ENGAGE_TWILIO_API_BASE_URL = twilio_url
    settings.ENGAGE_PUBLIC_URL = "https://bench.engage.local"
    settings.ENGAGE_MESSAGING_RATE_LIMITS = {}
    app.conf.task_default_queue = queue


def worker_main() -> None:
    """`python -m tests.benchmarks.bench_reminders --worker`: `celery -A engage worker` with the overrides."""
    os.environ["REDIS_URL"] = _redis_url()
    setup_django()
    _configure(os.environ["BENCH_QUEUE"], os.environ["BENCH_TWILIO_URL"])
    from engage.celery import app

    app.worker_main(["worker", "--pool", "prefork", "--concurrency", str(WORKER_CONCURRENCY), "--loglevel",
                     "WARNING", "--without-mingle", "--without-gossip", "--without-heartbeat", "-Q",
                     os.environ["BENCH_QUEUE"], "-n", f"bench-reminders-{os.getpid()}@%h"])


def measure(n: str) -> dict:
    n = int(n)
    os.environ["REDIS_URL"] = _redis_url()
    setup_django()
    from zoneinfo import ZoneInfo

    from django.db import connections

    from engage.celery import app
    from engage.messaging.models import OutboundMessage
    from engage.reminders.models import DoseEvent, MedicationPlan
    from engage.reminders.tasks import reminders_tick_task
    from tests.fakes.twilio import FakeTwilio

    queue = f"bench-reminders-{os.getpid()}"
    fake = FakeTwilio("AC" + "b" * 32, "bench-token").start()
    _configure(queue, fake.url)
    baseline_s = _baseline(n)
    zone = ZoneInfo("Asia/Shanghai")
    programme = _seed(n, (datetime.now(UTC) + timedelta(hours=1)).replace(second=0, microsecond=0), zone)
    _analyze()
    doses = DoseEvent.objects.filter(patient__programme=programme)
    log = Path(os.environ.get("ENGAGE_VAR_DIR", "/tmp")) / f"bench-reminders-worker-{os.getpid()}.log"
    connections.close_all()
    worker = _start_worker(queue, fake.url, log)
    try:
        # All due at the start of the next minute at least 15 s away (time for the worker to start).
        due_at = (datetime.now(UTC) + timedelta(seconds=75)).replace(second=0, microsecond=0)
        local = due_at.astimezone(zone)
        doses.update(due_at=due_at, local_date=local.date(), local_time=local.time())
        MedicationPlan.objects.filter(patient__programme=programme).update(times=[f"{local:%H:%M}"])
        connections.close_all()
        time.sleep(max(0.0, (due_at - datetime.now(UTC)).total_seconds()))
        for _ in range(2):  # the beat's tick, and the same task delivered again
            reminders_tick_task.apply_async(queue=queue)
        deadline = time.monotonic() + HANDOVER_TIMEOUT_S
        while time.monotonic() < deadline:
            # The fake's own count first: the measuring must not load the database it measures (counting the
            # sent doses is a join over every dose, 0.4 s of database time by 100,000, every 2 s).
            if worker.poll() is not None or (
                    len(fake.sent) >= n and doses.filter(message__sent_at__isnull=False).count() >= n):
                break
            time.sleep(2)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
        fake.stop()
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)  # whatever is left of this run's own queue

    lateness = sorted((sent - due).total_seconds() for sent, due in doses.filter(
        message__sent_at__isnull=False).values_list("message__sent_at", "due_at"))
    handed_over = len(lateness)
    # A second outbox row for a dose, or a second provider request for the same text to the same number.
    keys = [f"dose:{pk}" for pk in doses.values_list("pk", flat=True)]
    per_dose = OutboundMessage.objects.filter(idempotency_key__in=keys).count() - len(set(keys) & set(
        OutboundMessage.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True)))
    provider_duplicates = len(fake.sent) - len({(m.get("To"), m.get("Body")) for m in fake.sent})
    last = max(lateness) if lateness else float("nan")

    def pct(p):
        return lateness[min(len(lateness) - 1, int(p * len(lateness)))] if lateness else float("nan")

    # Leave nothing behind (a reused database would otherwise follow these doses up on a later run).
    _analyze()
    OutboundMessage.objects.filter(idempotency_key__in=keys).delete()
    programme.patients.all().delete()
    programme.delete()
    return {
        "n": n, "handed_over": handed_over, "worker_concurrency": WORKER_CONCURRENCY,
        "handover_s": last, "per_s": handed_over / last if lateness and last > 0 else float("nan"),
        "p50_s": pct(0.50), "p99_s": pct(0.99), "duplicates": per_dose + provider_duplicates,
        # More provider requests than n only when older open doses in a reused database got follow-ups meanwhile.
        "provider_requests": len(fake.sent), "baseline_s": baseline_s, "baseline_per_s": n / baseline_s,
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker_main()
    else:
        child_main("tests.benchmarks.bench_reminders", measure)
