"""Writes that may land a moment after their caller returned: one thread per process applies what callers put, in
batches, on its own database connection.

What goes here must be safe to lose in a crash. Its users: the `sent` mark of a one-time code that its caller has
handed to the provider (`message_enqueue(send_now=True)`) — its row was committed `sending` with the start mark
before the call, so a process that dies before the mark is written leaves exactly what a process dying during the
call leaves: a started row the sweeper turns into `unknown`, never resent — and that code's rate-limit charge (lost:
the provider gets one message above its rate). The person at the form does not wait for the bookkeeping; callers
arriving together share one statement.

    _marks = Behind("sent marks", apply=write_marks)   # apply(items): one batch, in the writer thread
    _marks.put(item)                                  # returns at once
    _marks.flush()                                    # waits until everything put so far is applied (tests, exit)

A batch that raises is retried (RETRIES by default, with a growing pause: a database restarting) and then given up
with an error in the log (the `sent` marks' rows are the sweeper's). The writer starts with the first `put` of a
process (again in a forked child) and flushes at interpreter exit (at most EXIT_FLUSH_SECONDS).
"""

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable

from django.db import connections

logger = logging.getLogger("engage.messaging")

RETRIES = 4  # a failing batch is tried this many times more, after 0.2, 0.4, 0.8, 1.6 s
RETRY_PAUSE = 0.2  # seconds before the first retry, doubled for each one after it
EXIT_FLUSH_SECONDS = 5.0
BATCH = 500
LINGER = 0.05  # seconds the writer waits after a first item for others to join it


class Behind:
    def __init__(self, name: str, *, apply: Callable[[list], None], retries: int = RETRIES):
        self.name, self._apply, self._retries = name, apply, retries
        self._lock = threading.Lock()
        self._queue: queue.Queue | None = None
        self._pid: int | None = None
        atexit.register(self.flush, EXIT_FLUSH_SECONDS)

    def put(self, item) -> None:
        self._started().put(item)

    def flush(self, timeout: float | None = None) -> bool:
        """Waits until everything put so far in this process is applied (or given up); False on a timeout."""
        found = self._queue if self._pid == os.getpid() else None
        if found is None:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        with found.all_tasks_done:
            while found.unfinished_tasks:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                found.all_tasks_done.wait(left)
        return True

    def _started(self) -> queue.Queue:
        with self._lock:
            if self._pid != os.getpid():  # first use, or a forked child (it has the queue, not the thread)
                self._queue, self._pid = queue.Queue(), os.getpid()
                threading.Thread(target=self._run, args=(self._queue,), name=f"behind: {self.name}",
                                 daemon=True).start()
            return self._queue

    def _run(self, items: queue.Queue) -> None:
        while True:
            batch = [items.get()]
            time.sleep(LINGER)  # the callers of the next moment join this batch: one statement for all of them
            while len(batch) < BATCH:
                try:
                    batch.append(items.get_nowait())
                except queue.Empty:
                    break
            try:
                self._apply_with_retries(batch)
            finally:
                for _ in batch:
                    items.task_done()
                if items.empty():
                    connections.close_all()  # this thread's connection goes back to the pool while idle

    def _apply_with_retries(self, batch: list) -> None:
        for attempt in range(self._retries + 1):
            try:
                self._apply(batch)
                return
            except Exception:
                if attempt == self._retries:
                    logger.exception("%s: %d writes given up (their rows are left to the sweeper)", self.name,
                                     len(batch))
                    return
                logger.warning("%s: a batch of %d failed, retrying", self.name, len(batch), exc_info=True)
                connections.close_all()
                time.sleep(RETRY_PAUSE * 2 ** attempt)
