"""The messaging gateway's cost per SMS: `message_enqueue` plus the sending task (outbox row, claim UPDATE, Redis
token bucket, provider-call marker, the real twilio client's HTTP call to the fake Twilio server, status UPDATE),
next to a baseline measured in the same run: the same twilio client call to the same fake server alone.

    .venv/bin/python -m tests.benchmarks --only messaging      (BENCH_MESSAGING_N, default 1,000)

Runs in one process, tasks eager (no broker round trip: that is bench_reminders' figure), on PostgreSQL (the
runner's DATABASE_URL or a scratch database) and Redis (REDIS_URL, else redis://127.0.0.1:6379/15).
"""

import os
import time

from tests.benchmarks.child import child_main, run_child, setup_django
from tests.benchmarks.core import Context, Row

DEFAULT_N = 1_000
BASELINE = "the same twilio client call to the same fake Twilio server, without the gateway, same run"


def messaging(ctx: Context) -> list[Row]:
    """Per-message gateway overhead vs the bare provider call."""
    n = int(os.environ.get("BENCH_MESSAGING_N", DEFAULT_N))
    print(f"  bench_messaging: {n:,} SMS through the gateway", flush=True)
    result = run_child(ctx, "tests.benchmarks.bench_messaging", str(n), timeout=900)
    note = "" if result["sent"] == n and result["provider_requests"] == 2 * n else (
        f"sent {result['sent']}/{n}, provider saw {result['provider_requests']}")
    return [
        Row("messaging: enqueue + deliver one SMS", result["gateway_ms"], result["baseline_ms"], "ms/msg", BASELINE,
            note),
        Row("messaging: SMS per second, one process", result["gateway_per_s"], result["baseline_per_s"], "msg/s",
            BASELINE, note),
        Row("messaging: duplicate sends of redelivered tasks (must be 0)", result["duplicates"], 0, "sends",
            BASELINE),
    ]


def measure(n: str) -> dict:
    n = int(n)
    os.environ["REDIS_URL"] = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    setup_django()
    from django.conf import settings

    from engage.celery import app
    from engage.messaging.backends import sms_backend
    from engage.messaging.models import OutboundMessage
    from engage.messaging.services import message_deliver_now, message_enqueue
    from engage.messaging.templates import get_template
    from tests.fakes.twilio import FakeTwilio

    get_template("verification_code")
    fake = FakeTwilio("AC" + "c" * 32, "bench-token").start()
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = fake.account_sid, fake.auth_token
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "c" * 32
    settings.ENGAGE_SMS_BACKEND = "engage.messaging.backends.TwilioSmsBackend"
    settings.ENGAGE_TWILIO_API_BASE_URL = fake.url
    settings.ENGAGE_PUBLIC_URL = "https://engage.bench"
    settings.ENGAGE_MESSAGING_RATE_LIMITS = {"sms": (1e9, 1e9)}  # the Lua script runs, never waits
    app.conf.task_always_eager = True
    run = f"bench-{os.getpid()}-{time.time_ns()}"
    params = {"code": "123456", "minutes": 5}
    try:
        backend = sms_backend()
        for _ in range(20):  # warm both paths
            backend.send("+8613800000000", "verification_code", params)
        start = time.perf_counter()
        for i in range(n):
            backend.send(f"+86139{i:08d}", "verification_code", params)
        baseline_s = time.perf_counter() - start
        start = time.perf_counter()
        ids = []
        for i in range(n):
            ids.append(message_enqueue(channel="sms", to=f"+86138{i:08d}", template_key="verification_code",
                                       params=params, idempotency_key=f"{run}:{i}", purpose="bench").pk)
        gateway_s = time.perf_counter() - start
        for pk in ids[:100]:  # a redelivered task must not send again
            message_deliver_now(message_id=pk)
        sent = OutboundMessage.objects.filter(pk__in=ids, status="sent").count()
        requests = len(fake.sent) - 20
        OutboundMessage.objects.filter(idempotency_key__startswith=f"{run}:").delete()
    finally:
        fake.stop()
    return {"sent": sent, "provider_requests": requests, "duplicates": requests - 2 * n,
            "gateway_ms": gateway_s * 1000 / n, "baseline_ms": baseline_s * 1000 / n,
            "gateway_per_s": n / gateway_s, "baseline_per_s": n / baseline_s}


if __name__ == "__main__":
    child_main("tests.benchmarks.bench_messaging", measure)
