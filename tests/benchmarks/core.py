"""What every benchmark shares: the Row it reports and the Context it runs in."""

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.benchmarks.server import UvicornServer

BASE_DIR = Path(__file__).resolve().parent.parent.parent


@dataclass(frozen=True)
class Row:
    name: str
    figure: float
    baseline: float
    unit: str
    baseline_name: str = ""  # what the baseline is, printed once under the table
    note: str = ""  # failed requests, a client-bound load generator: read the figure with care

    @property
    def ratio(self) -> float:
        return self.figure / self.baseline if self.baseline else float("nan")


@dataclass
class Options:
    requests: int
    concurrency: int
    warmup: int
    rounds: int


class Context:
    """What a benchmark gets: options, the environment of the prepared site, and a shared server."""

    def __init__(self, *, env: dict[str, str], var_dir: Path, options: Options):
        self.env, self.var_dir, self.options = env, var_dir, options
        self._server: UvicornServer | None = None

    def server(self) -> UvicornServer:
        """The uvicorn server, started on first use and stopped by the runner at the end."""
        if self._server is None:
            server = UvicornServer(env=self.env, cwd=BASE_DIR, log_path=self.var_dir / "uvicorn.log")
            server.start()
            self._server = server
        return self._server

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=self.env, check=True)

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def vacuum_database(env: dict[str, str]) -> None:
    """PostgreSQL: VACUUM (ANALYZE) before each benchmark, as autovacuum would have done between bursts in production.
    Some servers run without it (this machine's CI PostgreSQL has `autovacuum = off`): each benchmark then inherited
    the dead row versions and stale statistics of the ones before it (the SMS benchmark wrote its rows into an outbox
    holding 64,000 dead versions left by the 100,000-dose run)."""
    url = env.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        started = time.monotonic()
        connection.execute("VACUUM (ANALYZE)")
        autovacuum = connection.execute("SHOW autovacuum").fetchone()[0]
    print(f"  VACUUM (ANALYZE) in {time.monotonic() - started:.1f} s (autovacuum {autovacuum} on this server)",
          flush=True)
