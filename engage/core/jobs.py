"""The one way a service schedules work: `enqueue_on_commit("members.hospitals.tasks.hospital_import_run", pk)`.

Tasks are named, never imported, so a service and the task that calls it back never import each other. The task is
sent once the current transaction commits (at once outside one). Sending never raises into the request: a broker
that cannot be reached costs a log line and a `DeferredTask` row, and `deferred_tasks_resend` (beat, every minute)
sends the rows once the broker answers again. Tasks are idempotent, so a send that did reach the broker and was
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


def enqueue_coalesced(name: str, args: tuple | list = (), *, delay: float, window: float) -> bool:
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
    return enqueue_now(name, args, countdown=delay)


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
