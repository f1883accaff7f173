"""The messaging gateway's cost per SMS, next to a baseline measured in the same run (the same twilio client call to
the same fake server alone), two ways: a one-time code as the sign-in forms send it (`message_enqueue(send_now=True)`:
Redis token bucket, the outbox row recorded already started, the real twilio client's HTTP call to the fake Twilio
server, status UPDATE), and the queued way every other message takes (`message_enqueue` plus the sending task: outbox
row, claim and start mark, token bucket, call, status UPDATE).

    .venv/bin/python -m tests.benchmarks --only messaging      (BENCH_MESSAGING_N, default 1,000)

Runs in one process, tasks eager (no broker round trip: that is bench_reminders' figure), on PostgreSQL (the
runner's DATABASE_URL or a scratch database) and Redis (REDIS_URL, else redis://127.0.0.1:6379/15). The fake Twilio
server runs in a process of its own, as Twilio does: its request handling does not take turns with the measured
code for this process's interpreter lock (in the same process it slowed whatever ran while it answered).
"""

import multiprocessing
import os
import time

from tests.benchmarks.child import child_main, run_child, setup_django
from tests.benchmarks.core import Context, Row

DEFAULT_N = 1_000
ROUNDS = 5
BASELINE = "the same twilio client call to the same fake Twilio server, without the gateway, same run"


def messaging(ctx: Context) -> list[Row]:
    """Per-message gateway overhead vs the bare provider call."""
    n = int(os.environ.get("BENCH_MESSAGING_N", DEFAULT_N))
    print(f"  bench_messaging: {n:,} SMS through the gateway", flush=True)
    result = run_child(ctx, "tests.benchmarks.bench_messaging", str(n), timeout=900)
    note = "" if result["sent"] == 2 * n and result["provider_requests"] == 3 * n else (
        f"sent {result['sent']}/{2 * n}, provider saw {result['provider_requests']}")
    return [
        Row("messaging: enqueue + deliver one SMS (a one-time code: send_now)", result["gateway_ms"],
            result["baseline_ms"], "ms/msg", BASELINE, note),
        Row("messaging: enqueue + deliver one SMS, queued (the sending task, eager)", result["queued_ms"],
            result["baseline_ms"], "ms/msg", BASELINE, note),
        Row("messaging: SMS per second, one process", result["gateway_per_s"], result["baseline_per_s"], "msg/s",
            BASELINE, note),
        Row("messaging: duplicate sends of redelivered tasks (must be 0)", result["duplicates"], 0, "sends",
            BASELINE),
    ]


def _serve_fake_twilio(pipe, account_sid: str, auth_token: str) -> None:
    """The fake Twilio in its own process: sends its URL, serves until told to stop, then sends how many messages
    it accepted."""
    from tests.fakes.twilio import FakeTwilio

    fake = FakeTwilio(account_sid, auth_token).start()
    pipe.send(fake.url)
    pipe.recv()
    pipe.send(len(fake.sent))
    fake.stop()


class _FakeTwilioProcess:
    def __init__(self, account_sid: str, auth_token: str):
        self.account_sid, self.auth_token = account_sid, auth_token
        self._pipe, child = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("spawn").Process(
            target=_serve_fake_twilio, args=(child, account_sid, auth_token), daemon=True)

    def start(self):
        self._process.start()
        if not self._pipe.poll(60):
            raise RuntimeError("the fake Twilio process did not start")
        self.url = self._pipe.recv()
        return self

    def stop(self) -> int:
        """Stops the server; the number of messages it accepted."""
        self._pipe.send("stop")
        accepted = self._pipe.recv()
        self._process.join(10)
        return accepted


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

    get_template("verification_code")
    fake = _FakeTwilioProcess("AC" + "c" * 32, "bench-token").start()
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
        timings, ids = {"baseline": 0.0, "gateway": 0.0, "queued": 0.0}, []
        # In alternating rounds, so that drift on a noisy machine hits all three alike: the bare call; a one-time
        # code as the sign-in forms send it (send_now: recorded started, sent by the caller); the queued way every
        # other message takes (the sending task, eager here).
        for r in range(ROUNDS):
            numbers = range(r * n // ROUNDS, (r + 1) * n // ROUNDS)
            start = time.perf_counter()
            for i in numbers:
                backend.send(f"+86139{i:08d}", "verification_code", params)
            timings["baseline"] += time.perf_counter() - start
            for path, send_now in (("gateway", True), ("queued", False)):
                start = time.perf_counter()
                for i in numbers:
                    ids.append(message_enqueue(channel="sms", to=f"+86138{i:08d}", template_key="verification_code",
                                               params=params, idempotency_key=f"{run}:{path}:{i}", purpose="bench",
                                               send_now=send_now).pk)
                timings[path] += time.perf_counter() - start
        baseline_s = timings["baseline"]
        for pk in ids[:200]:  # a redelivered task must not send again (both ways)
            message_deliver_now(message_id=pk)
        sent = OutboundMessage.objects.filter(pk__in=ids, status="sent").count()
        OutboundMessage.objects.filter(idempotency_key__startswith=f"{run}:").delete()
    finally:
        requests = fake.stop() - 20
    return {"sent": sent, "provider_requests": requests, "duplicates": requests - 3 * n,
            "gateway_ms": timings["gateway"] * 1000 / n, "queued_ms": timings["queued"] * 1000 / n,
            "baseline_ms": baseline_s * 1000 / n,
            "gateway_per_s": n / timings["gateway"], "baseline_per_s": n / baseline_s}


if __name__ == "__main__":
    child_main("tests.benchmarks.bench_messaging", measure)
