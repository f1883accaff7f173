"""A uvicorn server in a subprocess, configured like `engage/Procfile`, and an HTTP load driver."""

import asyncio
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx


class BenchmarkError(Exception):
    """The benchmark could not measure what it meant to (server down, wrong answers)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class UvicornServer:
    """`uvicorn engage.asgi:application` on a free 127.0.0.1 port, always stopped on exit: one worker process,
    or BENCH_WORKERS of them (to measure how a figure grows with processes)."""

    def __init__(
        self, *, env: dict[str, str], cwd: Path, log_path: Path, ready_path: str = "/__bench__/baseline"
    ):
        self.env, self.cwd, self.log_path, self.ready_path = env, cwd, log_path, ready_path
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self._log = None

    def start(self, timeout: float = 180.0) -> None:
        command = [
            sys.executable, "-m", "uvicorn", "engage.asgi:application",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", os.environ.get("BENCH_WORKERS", "1"), "--lifespan", "off", "--log-level", "warning",
        ]
        self._log = open(self.log_path, "ab")  # closed in stop()
        self.process = subprocess.Popen(
            command, cwd=self.cwd, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchmarkError(f"uvicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.base_url + self.ready_path, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise BenchmarkError(f"uvicorn did not answer within {timeout:.0f}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 30) -> str:
        if self._log is not None:
            self._log.flush()
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies: list[float] = field(repr=False)  # seconds, one per answered request
    statuses: Counter
    errors: Counter  # exception name -> count, for requests that got no answer
    client_cpu_seconds: float = 0.0  # CPU this process spent sending: near `seconds` means client-bound

    @classmethod
    def merge(cls, results: list["LoadResult"]) -> "LoadResult":
        return cls(
            requests=sum(r.requests for r in results),
            seconds=sum(r.seconds for r in results),
            latencies=[latency for r in results for latency in r.latencies],
            statuses=sum((r.statuses for r in results), Counter()),
            errors=sum((r.errors for r in results), Counter()),
            client_cpu_seconds=sum(r.client_cpu_seconds for r in results),
        )

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds

    def percentile_ms(self, q: float) -> float:
        """Nearest-rank percentile, 0 < q <= 100, in milliseconds."""
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)] * 1000

    def failures(self) -> str:
        """Empty when every request was answered 200; otherwise what went wrong, for the report."""
        bad = {f"HTTP {status}": n for status, n in self.statuses.items() if status != 200}
        bad.update(self.errors)
        return ", ".join(f"{n}x {what}" for what, n in sorted(bad.items()))

    def client_bound(self) -> bool:
        """The load generator, not the server, used most of a core: the figure understates the server."""
        return self.client_cpu_seconds > 0.8 * self.seconds


async def drive_calls(calls: list, *, concurrency: int, timeout: float, headers: dict | None = None,
                      base_url: str = "") -> LoadResult:
    """Makes every call once (`call(client)` returns the request's awaitable, e.g. `lambda c: c.get(url)`) over
    `concurrency` keep-alive connections; latencies, statuses, errors and the client's CPU time."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    statuses: Counter = Counter()
    errors: Counter = Counter()
    queue = list(reversed(calls))

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout, headers=headers) as client:

        async def worker():
            while queue:
                call = queue.pop()
                started = time.perf_counter()
                try:
                    response = await call(client)
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] += 1
                    continue
                latencies.append(time.perf_counter() - started)
                statuses[response.status_code] += 1

        started, cpu_started = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return LoadResult(len(calls), seconds, latencies, statuses, errors, cpu)


async def _drive(url: str, *, requests: int, concurrency: int, timeout: float,
                 headers: dict | None = None) -> LoadResult:
    return await drive_calls([lambda client: client.get(url)] * requests, concurrency=concurrency, timeout=timeout,
                             headers=headers)


def drive(url: str, *, requests: int, concurrency: int, timeout: float = 30.0,
          headers: dict | None = None) -> LoadResult:
    """Sends `requests` GETs to `url` over `concurrency` keep-alive connections, from this process."""
    return asyncio.run(_drive(url, requests=requests, concurrency=concurrency, timeout=timeout, headers=headers))


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
