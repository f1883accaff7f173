"""The one way a service schedules work: `enqueue_on_commit("members.hospitals.tasks.hospital_import_run", pk)`.

Tasks are named, never imported, so a service and the task that calls it back never import each other. The task is
sent once the current transaction commits (at once outside one). Sending never raises into the request: a broker
that cannot be reached costs a log line and a `DeferredTask` row, and `deferred_tasks_resend` (beat, every minute)
sends the rows once the broker answers again. The same rows serve as an outbox for writes made in one statement
(`outbox_entry`, `outbox_flush_on_commit`). Tasks are idempotent, so a send that did reach the broker and was
also deferred is harmless.
"""

import importlib
import logging
import math
import time

from django.db import transaction

from engage.core.models import DeferredTask

logger = logging.getLogger("engage.jobs")


def _task(name: str):
    module, _, attr = name.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def enqueue_now(name: str, args: tuple | list = (), kwargs: dict | None = None, *,
                countdown: float | None = None, defer: bool = True) -> bool:
    """Sends the task named `name` now. True when the broker took it; on failure logs, keeps a DeferredTask row
    (unless `defer` is False) and returns False."""
    task = _task(name)
    options = {"countdown": max(0.0, countdown)} if countdown else {}
    if task.app.conf.task_always_eager:  # tests that follow a side effect through its task
        task.apply_async(tuple(args), kwargs or {}, **options)
        return True
    try:
        task.apply_async(tuple(args), kwargs or {}, retry=False, **options)
        return True
    except Exception as exc:
        logger.warning("could not send task %s%r: %s; kept for deferred_tasks_resend", name, tuple(args), exc)
        if defer:
            _defer(name, args, kwargs or {}, exc)
        return False


def _defer(name: str, args, kwargs: dict, exc: Exception) -> None:
    try:
        DeferredTask.objects.create(name=name, args=list(args), kwargs=kwargs, error=repr(exc)[:500])
    except Exception:
        logger.exception("could not keep task %s%r for later either", name, tuple(args))


def enqueue_on_commit(name: str, *args, countdown: float | None = None, **kwargs) -> None:
    """Sends the task named `name` with `args`/`kwargs` after the current transaction commits; never raises."""
    transaction.on_commit(lambda: enqueue_now(name, args, kwargs, countdown=countdown), robust=True)


_coalesced: dict[tuple, float] = {}


def enqueue_coalesced(name: str, args: tuple | list = (), *, delay: float, window: float,
                      defer: bool = True) -> bool:
    """Sends the task `name(*args)` to run `delay` seconds from now, unless this process sent the same one less
    than `window` seconds ago: that one has not started yet (`window` < `delay`; the difference allows for clocks
    that disagree) and covers whatever made this call, which happened before it starts. For work a burst asks for
    many times and one run does for all (crediting every check-in of a meeting not yet credited). Call it after
    the commit it follows. Eager runs (tests) happen at once and are never skipped."""
    if window >= delay:
        raise ValueError("enqueue_coalesced needs window < delay")
    key = (name, tuple(args))
    if not _task(name).app.conf.task_always_eager:
        now = time.monotonic()
        if now - _coalesced.get(key, -math.inf) < window:
            return True
        _coalesced[key] = now
    sent = enqueue_now(name, args, countdown=delay, defer=defer)
    if not sent and not defer:
        _coalesced.pop(key, None)  # neither sent nor kept for the resend: the next call tries again
    return sent


# The outbox: a service that writes its rows in one statement writes the task it owes as a `DeferredTask` row in
# that statement too (`outbox_entry`), so the task exists exactly when the write does, and asks for one resend
# sweep after the commit (`outbox_flush_on_commit`) instead of one broker send per write. The sweep starts
# OUTBOX_DELAY seconds later and a process asks at most once per OUTBOX_WINDOW: a burst of writes costs the
# broker one send per process per moment, and the beat's minutely resend covers a sweep that was never sent.
OUTBOX_RESEND_TASK = "engage.core.tasks.deferred_tasks_resend_task"
OUTBOX_DELAY = 2.0
OUTBOX_WINDOW = 1.0


def outbox_entry(name: str, *args, **kwargs) -> DeferredTask:
    """The unsaved row that has `deferred_tasks_resend` send the task `name(*args, **kwargs)`: write it with the
    rows that owe the task, then call `outbox_flush_on_commit`."""
    return DeferredTask(name=name, args=list(args), kwargs=kwargs, error="")


def outbox_flush_on_commit() -> None:
    """After the current transaction commits (at once outside one), asks for the sweep that sends the outbox."""
    # With the broker away nothing more is kept: the outbox rows are there, and the beat's resend sends them.
    transaction.on_commit(lambda: enqueue_coalesced(OUTBOX_RESEND_TASK, (), delay=OUTBOX_DELAY,
                                                    window=OUTBOX_WINDOW, defer=False), robust=True)


def deferred_tasks_resend(*, limit: int = 500) -> dict:
    """Sends the tasks that could not be sent, oldest first; a row goes once the broker took its task. Rows are
    claimed with SKIP LOCKED, so two sweeps at once never send one row twice."""
    sent = failed = 0
    with transaction.atomic():
        rows = list(DeferredTask.objects.select_for_update(skip_locked=True).order_by("id")[:limit])
        for row in rows:
            if enqueue_now(row.name, row.args, row.kwargs, defer=False):
                row.delete()
                sent += 1
            else:
                row.attempts += 1
                row.save(update_fields=["attempts"])
                failed += 1
                break  # the broker is still away: the next sweep tries again
    return {"sent": sent, "still_deferred": DeferredTask.objects.count() if failed else 0}
