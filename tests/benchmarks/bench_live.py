"""One live room at 1,000 / 5,000 / 10,000 viewers: delivery latency p50/p99, share delivered and memory per idle
socket of Engage's room (2 uvicorn workers behind channels_redis' pub/sub layer) against the floor, a minimal
`websockets` server in one process broadcasting the same frames to the same number of sockets, in the same run.

Each second for LIVE_SECONDS a chat event (broadcast.send_event_now: event id, one serialisation, one PUBLISH per
group) and a count update (broadcast.coalesce, sent by the workers' flusher as the room's one tally a second) leave
a publisher process; the viewers are `websockets` clients in LIVE_CLIENT_PROCESSES (2) separate processes, each
socket signed in as its own doctor.
Latency is measured on the chat frames (they carry the time they were sent); the share delivered is chat frames
received / (seconds × sockets), every viewer counted, connected or not; a viewer whose connect fails retries as the
room page does (a backoff from 1 s to 30 s, for up to CONNECT_PATIENCE), and the note names retried connects and
viewers that never connected. Memory per idle socket: the workers' RSS after all sockets connected minus their RSS
after a warm-up batch (WARMUP_SHARE of them, at most 100) connected, divided by the sockets in between; the same for
the floor's one process. (Measured from the cold process, one-time costs such as the first database connection and
thread-pool threads would be charged to the sockets: tens of KB each at a few hundred sockets.) The clients offer
permessage-deflate as browsers do; the servers decline it (engage/Procfile: `--ws-per-message-deflate false`; the
floor: compression=None). LIVE_WS_DEFLATE=1 lets uvicorn accept it, to see what compression costs per socket;
LIVE_WORKERS (2) sets the uvicorn workers. The supervisor's health check waits 60 s (uvicorn's default, 5 s, killed
both workers, and every socket on them, while they connected ~2,000 sockets each on a loaded 2-core machine).

    LIVE_SIZES=1000,5000,10000 LIVE_SECONDS=60 .venv/bin/python -m tests.benchmarks --only live
    (make bench ONLY=live; a smoke run: LIVE_SIZES=200 LIVE_SECONDS=10)

Needs PostgreSQL (see child.py) and Redis: REDIS_URL, or a scratch `redis-server` started on a free port. Raises
the open-file limit to its hard limit. Targets: 100 % delivered at every size; p99 within 1.5× of the floor at
5,000 and within 2× at 10,000; under 60 KB per idle socket.
"""

import asyncio
import itertools
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from tests.benchmarks.child import child_json, postgres_env
from tests.benchmarks.core import BASE_DIR, Context, Row
from tests.benchmarks.server import BenchmarkError, free_port

TARGETS = {"delivered": 100.0, "p99_ratio": {5000: 1.5, 10000: 2.0}, "kb_per_socket": 60.0}
BASELINE_NAME = "minimal `websockets` broadcast server (one process, same frames, same sockets, same client)"
CONNECT_CONCURRENCY = 200
CONNECT_PATIENCE = 300  # seconds a viewer keeps retrying its connect before it counts as never connected
WARMUP_SHARE, WARMUP_MAX = 0.1, 100


def _procfile_ws_flags() -> list[str]:
    """The WebSocket flags production's uvicorn runs with (engage/Procfile), unless LIVE_WS_DEFLATE=1."""
    line = next(x for x in (BASE_DIR / "engage/Procfile").read_text().splitlines() if x.startswith("web:"))
    words = line.split()
    flags = []
    for name in ("--ws", "--ws-per-message-deflate", "--ws-max-size"):
        if name in words:
            flags += [name, words[words.index(name) + 1]]
    if os.environ.get("LIVE_WS_DEFLATE") == "1" and "--ws-per-message-deflate" in flags:
        flags[flags.index("--ws-per-message-deflate") + 1] = "true"
    return flags


def _sizes() -> list[int]:
    return [int(s) for s in os.environ.get("LIVE_SIZES", "1000,5000,10000").split(",") if s.strip()]


def _seconds() -> int:
    return int(os.environ.get("LIVE_SECONDS", "60"))


def _raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1_048_576
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _rss_kb(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def _cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _wait_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchmarkError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise BenchmarkError("server did not listen in time")


def _stop(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def _redis_env(env: dict):
    """The runner's REDIS_URL, or a scratch redis-server on a free port for the duration."""
    if env.get("REDIS_URL"):
        yield env
        return
    binary = shutil.which("redis-server")
    if binary is None:
        raise BenchmarkError("bench_live needs Redis: set REDIS_URL or install redis-server")
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                                "no", "--maxclients", "100000"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port, process)
        yield {**env, "REDIS_URL": f"redis://127.0.0.1:{port}/0"}
    finally:
        _stop(process)


# --------------------------------------------------------------------------------------------------------------
# Parent side


def live(ctx: Context) -> list[Row]:
    """The live room against a minimal websockets broadcast server, at each size of LIVE_SIZES."""
    limit = _raise_nofile()
    sizes, seconds = _sizes(), _seconds()
    if max(sizes) + 1000 > limit:  # per process: no client or server process holds more than every socket
        raise BenchmarkError(f"open-file limit {limit} is too low for {max(sizes)} sockets")
    rows: list[Row] = []
    table = []
    with postgres_env(ctx, "bench_live") as pg_env, _redis_env(pg_env) as env:
        prepared = child_json(env, "tests.benchmarks.bench_live", "--prepare", str(max(sizes)), timeout=1800)
        for size in sizes:
            engage = _run_engage(ctx, env, prepared, size, seconds)
            floor = _run_floor(ctx, env, prepared, size, seconds)
            table.append((size, engage, floor))
            label = f"live room, {size:,} sockets"
            note = f"{seconds}s; connected {engage['connected']}/{size} (floor {floor['connected']})"
            for side, figures in (("", engage), ("floor ", floor)):
                if figures.get("closed"):  # sockets the server closed during the run, by close code
                    note += f"; {side}closed early {figures['closed']}"
                if figures.get("short"):  # {frames missed: sockets}
                    note += f"; {side}sockets short of chat frames {figures['short']}"
                if figures.get("retried"):  # failed connect attempts a viewer retried, by error
                    note += f"; {side}connects retried {figures['retried']}"
                if figures.get("unconnected"):  # viewers that gave up after CONNECT_PATIENCE
                    note += f"; {side}never connected {figures['unconnected']}"
            rows += [
                Row(f"{label}: chat latency p50", engage["p50_ms"], floor["p50_ms"], "ms", BASELINE_NAME, note),
                Row(f"{label}: chat latency p99", engage["p99_ms"], floor["p99_ms"], "ms", BASELINE_NAME, note),
                Row(f"{label}: delivered", engage["delivered_pct"], floor["delivered_pct"], "%", BASELINE_NAME, note),
                Row(f"{label}: server CPU while broadcasting (cores)", engage["server_cpu_share"],
                    floor["server_cpu_share"], "cores", BASELINE_NAME, note),
                Row(f"{label}: viewer client CPU while receiving (cores)", engage["client_cpu_share"],
                    floor["client_cpu_share"], "cores", BASELINE_NAME, note),
                Row(f"{label}: memory per idle socket", engage["kb_per_socket"], floor["kb_per_socket"], "KB",
                    BASELINE_NAME, note),
            ]
    _print_targets(table)
    return rows


def _print_targets(table) -> None:
    print("\n  live room against the targets:")
    print(f"  {'sockets':>8} {'delivered':>10} {'target':>7} {'p99 ms':>8} {'floor':>8} {'ratio':>6} {'target':>7} "
          f"{'KB/socket':>10} {'target':>7} {'tally/s':>8}")
    for size, engage, floor in table:
        ratio = engage["p99_ms"] / floor["p99_ms"] if floor["p99_ms"] else float("nan")
        target = TARGETS["p99_ratio"].get(size)
        print(f"  {size:>8,} {engage['delivered_pct']:>9.2f}% {'100%':>7} {engage['p99_ms']:>8.1f} "
              f"{floor['p99_ms']:>8.1f} {ratio:>6.2f} {('≤' + str(target)) if target else '-':>7} "
              f"{engage['kb_per_socket']:>10.1f} {'<60':>7} {engage['tallies_per_s']:>8.2f}")


class Viewers:
    """The simulated viewers: LIVE_CLIENT_PROCESSES (default 2) `websockets` client processes sharing the sockets,
    so that the load generator is not one process starved of CPU beside the server it measures (at 10,000 sockets
    a single client used a whole core)."""

    def __init__(self, env, url: str, cookies_path: str, size: int, seconds: int, out_dir: Path, label: str):
        count = max(1, int(os.environ.get("LIVE_CLIENT_PROCESSES", "2")))
        shares = [size // count + (1 if i < size % count else 0) for i in range(count)]
        self.size, self.seconds = size, seconds
        self.outs = [out_dir / f"live-{label}-{size}-{i}.json" for i in range(count)]
        self.clients = []
        offset = 0
        for share, out in zip(shares, self.outs, strict=True):
            command = [sys.executable, "-m", "tests.benchmarks.bench_live", "--viewers", str(share), "--offset",
                       str(offset), "--url", url, "--cookies", cookies_path, "--seconds", str(seconds),
                       "--out", str(out)]
            self.clients.append(subprocess.Popen(command, cwd=BASE_DIR, env=env, stdin=subprocess.PIPE,
                                                 stdout=subprocess.PIPE, text=True))
            offset += share

    def _await(self, timeout: float, word: str) -> int:
        return sum(_await_ready(client, timeout, word) for client in self.clients)

    def connect_measured(self, pids: list[int]) -> tuple[int, float]:
        """Lets the clients connect their warm-up batches, then the rest; (sockets connected, KB per socket of
        the server processes `pids` after warm-up)."""
        warm = self._await(600, "WARM")
        time.sleep(3)
        before = _rss_kb(pids)
        for client in self.clients:
            client.stdin.write("GO\n")
            client.stdin.flush()
        connected = self._await(900, "READY")
        time.sleep(3)
        after = _rss_kb(pids)
        return connected, (after - before) / max(connected - warm, 1)

    def finish(self) -> dict:
        """The clients' figures together: latency percentiles over every chat frame any client received."""
        parts = []
        for client, out in zip(self.clients, self.outs, strict=True):
            client.wait(timeout=self.seconds + 180)
            parts.append(json.loads(out.read_text()))
        latencies = sorted(latency for part in parts for latency in part["latencies"])

        def pct(q):
            return 1000 * latencies[min(len(latencies) - 1, int(q / 100 * len(latencies)))] if latencies else float(
                "nan")

        connected = sum(part["connected"] for part in parts)
        closed: dict[str, int] = {}
        short: dict[str, int] = {}
        retried: dict[str, int] = {}
        for part in parts:
            for mine, theirs in ((closed, part.get("closed", {})), (short, part.get("short", {})),
                                 (retried, part.get("retried", {}))):
                for key, n in theirs.items():
                    mine[key] = mine.get(key, 0) + n
        return {"connected": connected, "p50_ms": pct(50), "p99_ms": pct(99), "closed": closed, "short": short,
                "retried": retried, "unconnected": sum(part.get("unconnected", 0) for part in parts),
                "delivered_pct": 100.0 * sum(part["chat"] for part in parts) / (self.seconds * self.size),
                "tallies_per_s": sum(part["tally"] for part in parts) / max(connected, 1) / self.seconds,
                "client_cpu_share": sum(part["client_cpu_share"] for part in parts)}

    def kill(self) -> None:
        for client in self.clients:
            if client.poll() is None:
                client.kill()


def _await_ready(client: subprocess.Popen, timeout: float, word: str = "READY") -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = client.stdout.readline()
        if not line:
            raise BenchmarkError("the viewer client exited before connecting")
        if line.startswith(word):
            return int(line.split()[1])
    raise BenchmarkError("the viewer client did not connect in time")


def _run_engage(ctx, env, prepared, size, seconds) -> dict:
    port = free_port()
    log = open(ctx.var_dir / f"uvicorn-live-{size}.log", "ab")
    workers = os.environ.get("LIVE_WORKERS", "2")
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "engage.asgi:application", "--host", "127.0.0.1",
                               "--port", str(port), "--workers", workers, "--lifespan", "off", "--log-level", "warning",
                               "--ws-max-queue", "32", "--timeout-worker-healthcheck", "60",
                               *_procfile_ws_flags()], cwd=BASE_DIR, env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    client = None
    try:
        _wait_port(port, server)
        time.sleep(3)  # both workers up
        client = Viewers(env, f"ws://127.0.0.1:{port}/ws/live/{prepared['session_id']}/", prepared["cookies"], size,
                         seconds, ctx.var_dir, "engage")
        # --workers 1 serves in the uvicorn process itself; more fork one child each
        pids = _children(server.pid) or [server.pid]
        _, kb_per_socket = client.connect_measured(pids)
        cpu_before = _cpu_s(pids)
        publisher = subprocess.run([sys.executable, "-m", "tests.benchmarks.bench_live", "--publish",
                                    str(prepared["session_id"]), "--seconds", str(seconds)], cwd=BASE_DIR, env=env,
                                   capture_output=True, text=True, timeout=seconds + 120)
        if publisher.returncode != 0:
            raise BenchmarkError(f"publisher failed:\n{publisher.stderr[-2000:]}")
        server_cpu = _cpu_s(pids) - cpu_before
        result = client.finish()
    finally:
        if client is not None:
            client.kill()
        _stop(server)
        log.close()
    result["kb_per_socket"] = kb_per_socket
    result["server_cpu_share"] = server_cpu / seconds
    return result


def _run_floor(ctx, env, prepared, size, seconds) -> dict:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "tests.benchmarks.bench_live", "--floor", str(port),
                               "--seconds", str(seconds)], cwd=BASE_DIR, env=env)
    client = None
    try:
        _wait_port(port, server)
        client = Viewers(env, f"ws://127.0.0.1:{port}/", prepared["cookies"], size, seconds, ctx.var_dir, "floor")
        _, kb_per_socket = client.connect_measured([server.pid])
        cpu_before = _cpu_s([server.pid])
        server.send_signal(signal.SIGUSR1)  # start broadcasting
        time.sleep(seconds)
        server_cpu = _cpu_s([server.pid]) - cpu_before
        result = client.finish()
    finally:
        if client is not None:
            client.kill()
        _stop(server)
    result["kb_per_socket"] = kb_per_socket
    result["server_cpu_share"] = server_cpu / seconds
    return result


# --------------------------------------------------------------------------------------------------------------
# Child sides


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.benchmarks.settings")
    import django

    django.setup()


def prepare(count: int) -> dict:
    """A live webinar session (plain provider, live, no registration needed) and `count` signed-in doctors: their
    session cookies are written to a file, one a line."""
    _django()
    from datetime import timedelta

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string
    from wagtail.models import Page

    from events.live.models import LiveSession
    from events.pages.models import EventIndexPage, EventPage, EventType
    from members.accounts.models import User
    from members.hospitals.models import Department, Hospital
    from members.profiles.models import DoctorProfile

    run = f"{os.getpid()}-{int(time.time())}"
    index = EventIndexPage.objects.first()
    if index is None:
        index = EventIndexPage(title="学术会议", slug=f"meetings-bench-{run}")
        Page.get_first_root_node().get_children().first().add_child(instance=index)
    starts = timezone.now() - timedelta(minutes=5)
    event = EventPage(title="直播基准测试", slug=f"live-bench-{run}", topic="基准测试", starts_at=starts,
                      ends_at=starts + timedelta(hours=3), capacity=count, event_type=EventType.WEBINAR)
    index.add_child(instance=event)
    event.save_revision()
    EventPage.objects.filter(pk=event.pk).update(live=True)
    session = LiveSession.objects.create(event=event, provider=LiveSession.Provider.PLAIN, stream_name=f"bench-{run}",
                                         plain_url="/static/live/demo/index.m3u8", state=LiveSession.State.LIVE,
                                         started_at=timezone.now(), registration_required=False)
    hospital, _ = Hospital.objects.get_or_create(name="基准测试医院", city="上海市", defaults={"province": "上海市"})
    department, _ = Department.objects.get_or_create(code="bench", defaults={"name": "基准科", "name_en": "Bench"})
    users = User.objects.bulk_create([
        User(username=f"bench-live-{run}-{i}", email=f"bench-live-{run}-{i}@bench.engage.local",
             display_name=f"直播医生{i}", password="!unusable") for i in range(count)], batch_size=2000)
    DoctorProfile.objects.bulk_create([
        DoctorProfile(user=u, real_name=f"直播医生{i}", hospital=hospital, department=department, title="attending",
                      status="verified") for i, u in enumerate(users)], batch_size=2000)
    store = SessionStore()
    expire = timezone.now() + timedelta(days=1)
    backend = settings.AUTHENTICATION_BACKENDS[0]
    rows, keys = [], []
    for user in users:
        key = get_random_string(32)
        data = {SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: backend, HASH_SESSION_KEY: user.get_session_auth_hash()}
        rows.append(Session(session_key=key, session_data=store.encode(data), expire_date=expire))
        keys.append(key)
    Session.objects.bulk_create(rows, batch_size=2000)
    cookies = Path(os.environ.get("ENGAGE_VAR_DIR", "/tmp")) / f"live-bench-cookies-{run}.txt"
    cookies.write_text("\n".join(keys))
    return {"session_id": session.pk, "cookies": str(cookies)}


def publish(session_id: int, seconds: int) -> dict:
    """Each second: one chat event (carrying the time it was sent) and one count update."""
    _django()
    from events.live import broadcast

    start = time.monotonic()
    for n in range(seconds):
        broadcast.send_event_now(session_id=session_id, event={
            "type": "chat", "message": {"id": n, "text": f"基准消息 {n}", "author": "主持人"}, "sent_at": time.time()})
        broadcast.coalesce(session_id=session_id, kind="bench", key="count", value=n)
        delay = start + n + 1 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    return {"published": seconds}


def floor(port: int, seconds: int) -> None:
    """The floor: a websockets server that, on SIGUSR1, broadcasts the same two frames a second to every socket."""
    import websockets

    clients: set = set()

    async def handler(connection):
        clients.add(connection)
        try:
            await connection.wait_closed()
        finally:
            clients.discard(connection)

    async def main():
        loop = asyncio.get_running_loop()
        go = asyncio.Event()
        loop.add_signal_handler(signal.SIGUSR1, go.set)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        async with websockets.serve(handler, "127.0.0.1", port, max_queue=32, compression=None):
            await go.wait()
            start = time.monotonic()
            for n in range(seconds):
                chat = json.dumps({"id": n + 1, "type": "chat", "message": {"id": n, "text": f"基准消息 {n}",
                                   "author": "主持人"}, "sent_at": time.time()}, ensure_ascii=False,
                                  separators=(",", ":"))
                websockets.broadcast(clients, chat)
                websockets.broadcast(clients, json.dumps({"type": "tally", "bench": {"count": n}}))
                await asyncio.sleep(max(0.0, start + n + 1 - time.monotonic()))
            await stop.wait()

    asyncio.run(main())


def viewers(count: int, url: str, cookies_path: str, seconds: int, out: str, offset: int = 0) -> None:
    """`count` sockets, each signed in as its own doctor, offering permessage-deflate as browsers do: a warm-up
    batch first (prints WARM <connected> and waits for a line on stdin), then the rest (prints READY <connected>);
    then records every frame."""
    import websockets

    _raise_nofile()
    keys = Path(cookies_path).read_text().split()[offset:offset + count]
    latencies: list[float] = []
    counts = {"chat": 0, "tally": 0, "closed": {}, "retried": {}, "unconnected": 0}
    received: dict[int, int] = {}  # chat frames per socket
    stopping: list[bool] = []
    sockets = []
    semaphore = asyncio.Semaphore(CONNECT_CONCURRENCY)
    first_at: list[float] = []
    first_cpu: list[float] = []
    busy: dict[str, float] = {}

    async def reader(connection):
        try:
            async for raw in connection:
                now = time.time()
                if '"sent_at"' in raw:
                    frame = json.loads(raw)
                    if frame.get("type") == "chat":
                        counts["chat"] += 1
                        received[id(connection)] = received.get(id(connection), 0) + 1
                        latencies.append(now - frame["sent_at"])
                        if not first_at:
                            first_at.append(now)
                            first_cpu.append(time.process_time())
                elif raw.startswith('{"type":"tally"') and '"bench"' in raw:
                    counts["tally"] += 1
        except websockets.ConnectionClosed as closed:
            if not stopping:  # closed by the server during the run: a socket the room dropped
                code = str(closed.rcvd.code if closed.rcvd else None)
                counts["closed"][code] = counts["closed"].get(code, 0) + 1
            return

    async def connect(key):
        # As the room page does (static/js/live-room.js): a failed connect is retried after a backoff doubling from
        # 1 s up to 30 s, jittered. Three quick tries were not a page: in two 10,000-socket runs two sockets gave
        # up within two seconds, and the share delivered (counted over every viewer, connected or not) read 99.98 %.
        deadline = time.monotonic() + CONNECT_PATIENCE
        for attempt in itertools.count(1):
            async with semaphore:
                try:
                    connection = await websockets.connect(
                        url, additional_headers={"Cookie": f"sessionid={key}", "Origin": "http://127.0.0.1"},
                        max_queue=None, compression="deflate", open_timeout=120, ping_interval=None)
                    sockets.append(connection)
                    return
                except (TimeoutError, OSError, websockets.WebSocketException) as error:
                    name = type(error).__name__
                    counts["retried"][name] = counts["retried"].get(name, 0) + 1
            delay = min(30.0, 2.0 ** (attempt - 1)) * (0.75 + random.random() / 2)
            if time.monotonic() + delay > deadline:
                counts["unconnected"] += 1
                return
            await asyncio.sleep(delay)

    async def main():
        warm = min(WARMUP_MAX, int(len(keys) * WARMUP_SHARE))
        await asyncio.gather(*(connect(k) for k in keys[:warm]))
        print(f"WARM {len(sockets)}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        await asyncio.gather(*(connect(k) for k in keys[warm:]))
        tasks = [asyncio.ensure_future(reader(c)) for c in sockets]
        print(f"READY {len(sockets)}", flush=True)
        deadline = time.monotonic() + seconds + 90
        expected = seconds * len(sockets)
        while time.monotonic() < deadline:
            await asyncio.sleep(1)
            if first_at and (counts["chat"] >= expected or time.time() > first_at[0] + seconds + 10):
                break
        if first_at:  # the share of one core this client used while the frames came in
            busy["share"] = (time.process_time() - first_cpu[0]) / max(time.time() - first_at[0], 1e-9)
        await asyncio.sleep(2)
        stopping.append(True)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*(c.close() for c in sockets), return_exceptions=True)

    asyncio.run(main())
    # raw figures: the parent merges the clients' (Viewers.finish)
    result = {"connected": len(sockets), "latencies": [round(x, 5) for x in latencies], "chat": counts["chat"],
              "closed": counts["closed"], "retried": counts["retried"], "unconnected": counts["unconnected"],
              # sockets that got fewer chat frames than were sent, by how many they missed
              "short": _shortfalls([received.get(id(c), 0) for c in sockets], seconds),
              "tally": counts["tally"], "client_cpu_share": busy.get("share", float("nan"))}
    Path(out).write_text(json.dumps(result))


def _shortfalls(per_socket: list[int], expected: int) -> dict[str, int]:
    """{frames missed: sockets} over the sockets that received fewer than `expected` chat frames."""
    short: dict[str, int] = {}
    for n in per_socket:
        if n < expected:
            short[str(expected - n)] = short.get(str(expected - n), 0) + 1
    return short


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--prepare", type=int)
    parser.add_argument("--publish", type=int)
    parser.add_argument("--floor", type=int)
    parser.add_argument("--viewers", type=int)
    parser.add_argument("--url")
    parser.add_argument("--cookies")
    parser.add_argument("--out")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--offset", type=int, default=0)
    args = parser.parse_args()
    if args.prepare:
        print(json.dumps(prepare(args.prepare)))
    elif args.publish:
        print(json.dumps(publish(args.publish, args.seconds)))
    elif args.floor:
        floor(args.floor, args.seconds)
    elif args.viewers:
        viewers(args.viewers, args.url, args.cookies, args.seconds, args.out, args.offset)
