"""Channel API call metrics: the in-memory buffer the channel clients record into.

A client records each request it sends (operation, seconds, outcome) with one line at its single
request method::

    with call_metrics.timed("orderCreate") as call:
        response = send()
        call.status = response.status_code   # 429 -> throttled, 5xx/4xx -> error

or ``call_metrics.record(operation, seconds, outcome)`` when it measured the call itself. Nothing is
written to the database per call: the buffer belongs to the thread (one Odoo request or cron job
at a time), and the work's own transaction drains it into the per-minute aggregate rows
(``omni.metric.minute._omni_flush_calls``; the event processor does so for every event it
processes, in the event's transaction). A call recorded in a transaction that rolls back is still
counted: the call happened. No ``odoo`` import.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

# Upper bounds of the latency histogram's buckets, in seconds (the +Inf bucket is the call count).
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
OUTCOMES = ("ok", "error", "throttled")
# Distinct operation names kept per thread; more fold into OTHER (a bug must not grow memory).
MAX_OPERATIONS = 200
OTHER = "other"
MAX_OPERATION_LENGTH = 64


class CallStats:
    """Counters of one operation: calls, errors, throttled answers, total seconds, bucket counts."""

    __slots__ = ("buckets", "calls", "errors", "seconds", "throttled")

    def __init__(self):
        self.calls = 0
        self.errors = 0
        self.throttled = 0
        self.seconds = 0.0
        self.buckets = [0] * len(BUCKETS)

    def add(self, seconds, outcome="ok"):
        seconds = max(float(seconds or 0.0), 0.0)
        self.calls += 1
        self.seconds += seconds
        if outcome == "error":
            self.errors += 1
        elif outcome == "throttled":
            self.throttled += 1
        for index, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.buckets[index] += 1
                break

    def as_tuple(self):
        return (self.calls, self.errors, self.throttled, self.seconds, tuple(self.buckets))


_local = threading.local()


def _buffer():
    buffer = getattr(_local, "calls", None)
    if buffer is None:
        buffer = _local.calls = {}
    return buffer


def _name(operation):
    name = str(operation or OTHER)[:MAX_OPERATION_LENGTH]
    buffer = _buffer()
    if name not in buffer and len(buffer) >= MAX_OPERATIONS:
        return OTHER
    return name


def outcome_for_status(status):
    """``ok``, ``error`` or ``throttled`` for an HTTP status (0 or None: no answer, an error)."""
    if status == 429:
        return "throttled"
    if not status or status >= 400:
        return "error"
    return "ok"


def record(operation, seconds, outcome="ok"):
    """Count one call of ``operation`` that took ``seconds`` and ended ``outcome``."""
    if outcome not in OUTCOMES:
        outcome = "error"
    name = _name(operation)
    stats = _buffer().get(name)
    if stats is None:
        stats = _buffer()[name] = CallStats()
    stats.add(seconds, outcome)


def count_throttled(operation):
    """Mark the last call of ``operation`` as throttled (an answer that said so in its body)."""
    stats = _buffer().get(_name(operation))
    if stats is not None and stats.throttled < stats.calls:
        stats.throttled += 1


class _Call:
    __slots__ = ("operation", "outcome", "status")

    def __init__(self, operation):
        self.operation = operation
        self.status = None
        self.outcome = None


@contextmanager
def timed(operation, clock=time.monotonic):
    """Time the block as one call of ``operation``; set ``call.status`` (HTTP) or ``call.outcome``.

    An exception escaping the block counts as an error (and propagates)."""
    call = _Call(operation)
    started = clock()
    try:
        yield call
    except BaseException:
        record(call.operation, clock() - started, "error")
        raise
    outcome = call.outcome or (outcome_for_status(call.status) if call.status is not None else "ok")
    record(call.operation, clock() - started, outcome)


def name_next(operation):
    """Name the next call this thread records through ``take_operation`` (a client naming the request
    its transport layer is about to send and time)."""
    _local.operation = operation


def take_operation():
    """The name given by ``name_next`` (once), or None."""
    operation = getattr(_local, "operation", None)
    _local.operation = None
    return operation


def pending():
    """Whether this thread has calls waiting to be flushed."""
    return bool(getattr(_local, "calls", None))


def drain():
    """Take this thread's calls: ``{operation: CallStats}``; the buffer is empty afterwards."""
    buffer = getattr(_local, "calls", None) or {}
    _local.calls = {}
    return buffer


def discard():
    """Forget this thread's calls (calls made for no channel, e.g. a failed connection test)."""
    _local.calls = {}
