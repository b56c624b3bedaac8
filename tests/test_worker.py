"""worker.LatestWins: the newest job runs, older ones are cancelled, nothing ends the thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from localllm.backends import Cancellation
from localllm.worker import LatestWins


@dataclass
class Job:
    name: str
    cancel: Cancellation = field(default_factory=Cancellation)
    follow: Job | None = None


def wait_for(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_newer_job_cancels_the_running_one_and_replaces_the_queued_one() -> None:
    ran: list[str] = []
    release = threading.Event()

    def run(job: Job) -> None:
        ran.append(job.name)
        if job.name == "first":
            release.wait(5)

    worker: LatestWins[Job] = LatestWins(run, name="test-worker")
    try:
        first = Job("first")
        worker.submit(first)
        wait_for(lambda: ran == ["first"])
        second, third = Job("second"), Job("third")
        worker.submit(second)
        worker.submit(third)
        assert first.cancel.cancelled
        release.set()
        wait_for(worker.idle)
        assert ran == ["first", "third"]
    finally:
        worker.close()


def test_a_job_that_raises_is_reported_and_the_thread_goes_on() -> None:
    failed: list[str] = []
    ran: list[str] = []

    def run(job: Job) -> None:
        if job.name == "bad":
            raise RuntimeError("boom")
        ran.append(job.name)

    def on_error(job: Job) -> None:
        failed.append(job.name)
        raise RuntimeError("reporting fails too")

    worker: LatestWins[Job] = LatestWins(run, name="test-worker", on_error=on_error)
    try:
        worker.submit(Job("bad"))
        wait_for(lambda: failed == ["bad"] and worker.idle())
        worker.submit(Job("good"))
        wait_for(lambda: ran == ["good"])
        assert worker.thread is not None and worker.thread.is_alive()
    finally:
        worker.close()
    assert not worker.thread.is_alive()


def test_a_follow_up_runs_unless_something_newer_came() -> None:
    ran: list[str] = []
    done: list[str] = []

    def run(job: Job) -> Job | None:
        ran.append(job.name)
        return job.follow

    worker: LatestWins[Job] = LatestWins(
        run, name="test-worker", on_done=lambda job: done.append(job.name)
    )
    try:
        worker.submit(Job("asked", follow=Job("speculative")))
        wait_for(lambda: done == ["asked", "speculative"])
        assert ran == ["asked", "speculative"]
    finally:
        worker.close()


def test_cancel_drops_the_queued_job_and_offer_waits_for_idle() -> None:
    worker: LatestWins[Job] = LatestWins(lambda job: None, name="test-worker", start=False)
    queued = Job("queued")
    assert worker.offer(queued)
    assert not worker.offer(Job("another"))  # something is queued already
    assert worker.cancel(lambda job: job.name == "other") is None
    assert worker.pending is queued
    assert worker.cancel(lambda job: job.name == "queued") is queued
    assert queued.cancel.cancelled and worker.idle()
    worker.close()
    worker.submit(Job("late"))  # closed: nothing is queued
    assert worker.idle()
