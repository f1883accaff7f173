"""Real threads racing against PostgreSQL (not a test module).

    results = race(50, lambda i: points_award(member=doctor, rule_code="attend_meeting", source=("x", i)))
    raise_first(results)           # any exception a thread raised fails the test here
    exceptions(results)            # the exceptions alone, for `assert exceptions(results) == []`
    codes(results)                 # a DomainError becomes its code; any other exception is re-raised

Tests that race need `django_db(transaction=True)`: each thread has its own connection and must see committed rows.
"""

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.db import connections


def race(n: int, fn: Callable[[int], Any], *, timeout: float | None = 120.0) -> list:
    """Runs `fn(i)` for i in range(n), each in its own thread; a Barrier releases the n threads together.
    Every thread closes its database connections when it ends. Returns, in thread order, what each `fn(i)`
    returned or the exception it raised (the test asserts on both). `timeout` seconds bound the wait at the
    barrier and the whole race, and a thread still running after that is a TimeoutError; `timeout=None` waits as
    long as it takes (pytest-timeout still ends the test)."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=timeout)
            results[i] = fn(i)
        except BaseException as exc:  # handed back to the test, which asserts on it
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,), name=f"race-{i}", daemon=True) for i in range(n)]
    for thread in threads:
        thread.start()
    deadline = None if timeout is None else time.monotonic() + timeout
    for thread in threads:
        thread.join(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
    stuck = [thread.name for thread in threads if thread.is_alive()]
    if stuck:
        raise TimeoutError(f"{len(stuck)} of {n} racing threads still running after {timeout}s: {stuck}")
    return results


def exceptions(results: Iterable) -> list[BaseException]:
    """The exceptions among `results`, in thread order."""
    return [result for result in results if isinstance(result, BaseException)]


def raise_first(results: list, *, allow: type[BaseException] | tuple[type[BaseException], ...] = ()) -> list:
    """Re-raises the first exception in `results` that is not an instance of `allow`; else returns `results`."""
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, allow):
            raise result
    return results


def codes(results: list) -> list:
    """`results` with each DomainError replaced by its code; any other exception is re-raised."""
    from engage.core.errors import DomainError

    return [result.code if isinstance(result, DomainError) else result
            for result in raise_first(results, allow=DomainError)]


def someone_waits_for_a_lock(*, within: float = 20.0) -> bool:
    """Whether another connection to the test database waits for a lock, asked until `within` seconds passed
    (for a test that holds a lock while a thread runs into it)."""
    deadline = time.monotonic() + within
    while True:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # inside a transaction the view is otherwise frozen
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
            if cursor.fetchone()[0] > 0:
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
