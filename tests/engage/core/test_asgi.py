"""Slow clients: uvicorn started as engage/Procfile starts it frees a connection that sends no body or nothing."""

import contextlib
import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def procfile_server(tmp_path):
    """uvicorn with the Procfile's web flags (on a free port), bodies due within 1 s."""
    line = next(x for x in (ROOT / "engage/Procfile").read_text().splitlines() if x.startswith("web:"))
    args = shlex.split(line.removeprefix("web:").replace("${ENGAGE_TRUSTED_PROXIES:-127.0.0.1,::1}", "127.0.0.1"))
    port = _free_port()
    args[args.index("--port") + 1] = str(port)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "engage.settings.test", "ENGAGE_REQUEST_BODY_TIMEOUT": "1"}
    log = tmp_path / "uvicorn.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("uvicorn did not start:\n" + log.read_text()) from None
                time.sleep(0.3)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=15)


def read_until_closed(sock, limit: float) -> tuple[bytes, float]:
    started = time.monotonic()
    sock.settimeout(limit)
    data = b""
    with contextlib.suppress(TimeoutError):  # still open at the limit: the caller asserts on the elapsed time
        while chunk := sock.recv(4096):
            data += chunk
    return data, time.monotonic() - started


def test_a_declared_body_that_never_comes_is_answered_408_and_closed(procfile_server):
    with socket.create_connection(("127.0.0.1", procfile_server)) as sock:
        sock.sendall(b"POST /webhooks/wechat/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n"
                     b"Content-Length: 1000000\r\n\r\nabc")
        data, took = read_until_closed(sock, 20)
    assert data.startswith(b"HTTP/1.1 408"), data[:200]
    assert took < 10


def test_an_idle_connection_is_closed_after_the_keep_alive_timeout(procfile_server):
    with socket.create_connection(("127.0.0.1", procfile_server)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        data, took = read_until_closed(sock, 30)
    assert data.startswith(b"HTTP/1.1 "), data[:200]
    assert took < 20  # --timeout-keep-alive 5: the connection did not stay open after the answer
