"""Latest wins: one daemon thread runs the newest job; a newer one cancels it.

`submit(job)` returns at once: it cancels the job in flight (its Cancellation) and replaces any
still queued. The thread runs one job at a time; a job may return a follow-up job, queued when
nothing newer came meanwhile (the engine's speculative step). Nothing a job does ends the
thread: an exception goes to `on_error` (itself guarded), and anything escaping the loop is
logged and the loop starts again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from .backends import Cancellation

log = logging.getLogger(__name__)


class Job(Protocol):
    @property
    def cancel(self) -> Cancellation: ...


J = TypeVar("J", bound=Job)


class LatestWins(Generic[J]):
    def __init__(
        self,
        run: Callable[[J], J | None],
        *,
        name: str,
        on_error: Callable[[J], None] = lambda job: None,
        on_done: Callable[[J], None] = lambda job: None,
        start: bool = True,
        join_timeout: float = 5.0,
    ) -> None:
        """`run(job)` does the work and returns a follow-up job or None; `on_error(job)` is
        called (inside the except block: log.exception works) when it raises; `on_done(job)`
        runs under the lock once the job is over."""
        self._job = run
        self._on_error = on_error
        self._on_done = on_done
        self._join_timeout = join_timeout
        self._cond = threading.Condition()
        self._pending: J | None = None
        self._current: J | None = None
        self._closed = False
        self.thread: threading.Thread | None = None
        if start:
            self.thread = threading.Thread(target=self._work, name=name, daemon=True)
            self.thread.start()

    # -- called from any thread --------------------------------------------------------------

    @property
    def pending(self) -> J | None:
        with self._cond:
            return self._pending

    @property
    def current(self) -> J | None:
        with self._cond:
            return self._current

    def submit(self, job: J) -> None:
        """Run `job` next: cancels the one in flight, replaces any still queued."""
        with self._cond:
            if self._closed:
                return
            if self._current is not None:
                self._current.cancel.cancel()
            self._pending = job
            self._cond.notify()

    def offer(self, job: J) -> bool:
        """Queue `job` only when nothing is queued or running."""
        with self._cond:
            if self._closed or self._pending is not None or self._current is not None:
                return False
            self._pending = job
            self._cond.notify()
            return True

    def cancel(self, where: Callable[[J], bool] = lambda job: True) -> J | None:
        """Cancel the queued and the running job where `where(job)`; returns the queued job
        that this dropped, if any."""
        with self._cond:
            for job in (self._pending, self._current):
                if job is not None and where(job):
                    job.cancel.cancel()
            dropped = self._pending
            if dropped is not None and dropped.cancel.cancelled:
                self._pending = None
                return dropped
            return None

    def cancel_current(self) -> None:
        with self._cond:
            if self._current is not None:
                self._current.cancel.cancel()

    def idle(self) -> bool:
        with self._cond:
            return self._pending is None and self._current is None

    def close(self) -> None:
        """Cancel everything, stop the thread and wait for it (a while)."""
        with self._cond:
            self._closed = True
            for job in (self._pending, self._current):
                if job is not None:
                    job.cancel.cancel()
            self._pending = None
            self._cond.notify()
        if self.thread is not None:
            self.thread.join(timeout=self._join_timeout)

    # -- the thread --------------------------------------------------------------------------

    def _work(self) -> None:
        """Nothing a job does may end the thread: should anything escape the loop's own
        guards, it is logged and the loop starts again."""
        while True:
            try:
                self._loop()
                return  # closed
            except Exception:
                log.exception("the %s worker failed; it goes on", self._name())
                with self._cond:
                    self._current = None

    def _name(self) -> str:
        return self.thread.name if self.thread is not None else "worker"

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._closed:
                    self._cond.wait()
                job = self._pending
                if self._closed or job is None:
                    return
                self._pending = None
                self._current = job
            follow = None
            try:
                follow = self._run_guarded(job)
            finally:
                with self._cond:
                    self._current = None
                    self._on_done(job)
                    if (
                        follow is not None
                        and not job.cancel.cancelled
                        and self._pending is None
                        and not self._closed
                    ):
                        self._pending = follow

    def _run_guarded(self, job: J) -> J | None:
        try:
            return self._job(job)
        except Exception:
            try:
                self._on_error(job)
            except Exception:
                log.exception("%s: the error could not be reported", self._name())
            return None
