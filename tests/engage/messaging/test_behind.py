"""The process's writer of what may land a moment after its caller returned (engage.messaging.behind): batches,
retries, gives up with a log line, and waits for nothing it was not given."""

import threading

import pytest

from engage.messaging import behind
from engage.messaging.behind import Behind


def test_what_arrives_while_a_batch_is_written_goes_in_the_next_batch_together():
    batches, first_writing, release = [], threading.Event(), threading.Event()

    def apply(batch):
        batches.append(list(batch))
        if len(batches) == 1:
            first_writing.set()
            release.wait(10)

    writer = Behind("test batches", apply=apply)
    writer.put("a")
    assert first_writing.wait(10)
    for item in "bcd":
        writer.put(item)
    release.set()
    assert writer.flush(10)
    assert batches == [["a"], ["b", "c", "d"]]


def test_flush_waits_for_the_batch_being_written_and_says_when_it_timed_out():
    release = threading.Event()
    writer = Behind("test slow", apply=lambda batch: release.wait(10))
    assert writer.flush(0.1)  # nothing put: nothing to wait for
    writer.put(1)
    assert writer.flush(0.2) is False
    release.set()
    assert writer.flush(10)


def test_a_failing_batch_is_retried_then_given_up_with_an_error_in_the_log(monkeypatch, caplog):
    monkeypatch.setattr(behind, "RETRY_PAUSE", 0)  # no pauses between the attempts here
    calls = []

    def apply(batch):
        calls.append(list(batch))
        raise RuntimeError("database restarting")

    writer = Behind("test failing", apply=apply, retries=2)
    writer.put("x")
    assert writer.flush(10)
    assert calls == [["x"], ["x"], ["x"]]
    assert any("given up" in record.getMessage() and record.levelname == "ERROR" for record in caplog.records)
    calls.clear()
    once = Behind("test once", apply=apply, retries=0)
    once.put("y")
    assert once.flush(10) and calls == [["y"]]


def test_a_batch_that_succeeds_on_a_retry_is_written_once(monkeypatch):
    monkeypatch.setattr(behind, "RETRY_PAUSE", 0)
    written, failures = [], [RuntimeError("once")]

    def apply(batch):
        if failures:
            raise failures.pop()
        written.extend(batch)

    writer = Behind("test retry", apply=apply)
    writer.put(1)
    writer.put(2)
    assert writer.flush(10)
    assert sorted(written) == [1, 2]


@pytest.mark.parametrize("count", [1, 700])
def test_every_item_put_is_applied_once_in_batches_of_at_most_the_limit(count):
    seen = []
    writer = Behind("test many", apply=lambda batch: seen.append(len(batch)))
    for i in range(count):
        writer.put(i)
    assert writer.flush(10)
    assert sum(seen) == count and max(seen) <= behind.BATCH
