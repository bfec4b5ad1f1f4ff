"""Bounds on validating an untrusted PDF: wall time and decoded bytes.

Time: `deadline(seconds)` arms a timer that, when it fires, raises
`LimitExceeded` inside the thread doing the work (CPython's
`PyThreadState_SetAsyncExc`). pyHanko is pure Python, so the exception lands at
the next bytecode boundary however the parser is looping; a single long call
into C (hashing a large byte range) finishes first, which for the input sizes
the hub admits is milliseconds. The timer is disarmed, and any exception still
pending for the thread is cleared, before the block exits, so nothing fires
into the caller's code afterwards.

This in-thread deadline serves readings done in the caller's own process (the
member node, the CLI, a hub with `pdf_workers = 0`). The hub's worker processes
run without it: their deadline is being killed (`hub.ingest.pdf_workers`), so no
exception is ever injected there.

Memory: pyHanko's own decode limits bound the bytes its stream decoders may
produce for one document (`decode_limits(max_bytes)`), which is where a small
file turns into a large amount of memory (compression bombs).
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from pyhanko.pdf_utils.decode_limits import DecodeLimits, DocumentDecodeBudget, StreamDecodeLimits


class LimitExceeded(BaseException):
    """Validation ran past its time bound.

    A `BaseException`, like `KeyboardInterrupt`, so that the `except Exception`
    clauses inside pyHanko do not swallow the interruption.
    """


_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
_REFIRE_SECONDS = 0.05  # pyHanko code that swallows the exception is interrupted again
_MAX_FIRES = 5
"""At most this many interruptions per deadline: one landing in the machinery that
leaves the block (contextlib's own code) escapes the disarming, and the timer must
not then go on firing into the caller's code for as long as the generator lives."""


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self._thread_id = threading.get_ident()
        self._lock = threading.Lock()
        self._armed = True
        self.fired = False
        self._fires = 0
        self._timer = self._start(seconds)

    def _start(self, seconds: float) -> threading.Timer:
        timer = threading.Timer(seconds, self._fire)
        timer.daemon = True
        timer.start()
        return timer

    def _fire(self) -> None:
        with self._lock:
            if self._armed and self._fires < _MAX_FIRES:
                self.fired = True
                self._fires += 1
                _set_async_exc(ctypes.c_ulong(self._thread_id), ctypes.py_object(LimitExceeded))
                self._timer = self._start(_REFIRE_SECONDS)

    def disarm(self) -> None:
        """Stop firing and drop a pending exception, even if one lands while doing so.

        A refire may land at any bytecode boundary, also before the lock is
        taken here; left armed, the timer would go on firing into whatever
        code runs next in this thread. So a landing retries the disarming,
        which takes microseconds against the refire's 50 ms.
        """
        while True:
            try:
                with self._lock:
                    self._armed = False
                    self._timer.cancel()
                    if self.fired:  # an exception may still be pending: drop it
                        _set_async_exc(ctypes.c_ulong(self._thread_id), None)
                return
            except LimitExceeded:
                self.fired = True


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Raise `LimitExceeded` in this thread if the block runs longer than `seconds`.

    Whatever the block raised once the time is up (pyHanko may wrap the
    interruption in its own error) comes out as `LimitExceeded`.
    """
    if seconds is None:
        yield
        return
    state = _Deadline(seconds)
    message = f"took longer than {seconds:g} s"
    failure: BaseException | None = None
    try:
        yield
    except BaseException as exc:
        failure = exc
    finally:
        # A refire can land as `disarm` is entered (its first instruction checks for
        # pending exceptions): caught here and the disarming done again, or the timer
        # would go on firing into the caller's code.
        while True:
            try:
                state.disarm()
                break
            except LimitExceeded:
                state.fired = True
    if isinstance(failure, GeneratorExit):  # closed without finishing the block: let go
        raise failure
    if state.fired:
        raise LimitExceeded(message) from failure
    if failure is not None:
        raise failure


def decode_limits(max_bytes: int) -> DecodeLimits:
    """pyHanko decode limits allowing at most `max_bytes` decoded for one document."""
    return DecodeLimits(
        per_stream=StreamDecodeLimits(max_output_size=max_bytes),
        document_budget=DocumentDecodeBudget(base_allowance=max_bytes, max_ratio=0),
    )
