"""The backend interface: one module per backend, all behind CompletionBackend."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ..types import FimContext, GenerationParams, RequestTimings

if TYPE_CHECKING:
    from ..config import Settings

Notify = Callable[[str, str], None]
"""notify(level, message): tell the user something once (levels: info, warn, error)."""


_governing = threading.local()  # the Cancellation that ends this thread's HTTP calls


def daemon_timer(seconds: float, callback: Callable[..., None], *args: object) -> threading.Timer:
    """`callback(*args)` in `seconds` on a daemon thread (a deadline that never holds up exit),
    started; `cancel()` it when the work ends first."""
    timer = threading.Timer(seconds, callback, args)
    timer.daemon = True
    timer.start()
    return timer


class Cancellation:
    """Set by the engine when a newer request supersedes this one; backends stop at once."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []
        self.cancelled_ns = 0  # time.monotonic_ns() of cancel(), for the stop latency

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self.cancelled_ns = time.monotonic_ns()
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def wait(self, timeout: float) -> bool:
        """Sleep up to `timeout` seconds, waking at once when cancelled; True if cancelled."""
        return self._event.wait(timeout)

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Run `callback` when cancelled (at once if already cancelled)."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return
        callback()

    @contextmanager
    def governs_calls(self) -> Iterator[None]:
        """Inside the block, the HTTP calls this thread makes (connecting, tokenizing) end
        when this is cancelled, though no backend passes it to them."""
        previous = getattr(_governing, "cancel", None)
        _governing.cancel = self
        try:
            yield
        finally:
            _governing.cancel = previous

    @staticmethod
    def current() -> Cancellation | None:
        """The Cancellation governing this thread's calls, if any."""
        return getattr(_governing, "cancel", None)


@dataclass(frozen=True, slots=True)
class BackendInfo:
    name: str
    model: str | None
    fim: bool | None
    state: str  # "idle" | "loading" | "ready" | "error"
    detail: str = ""


class CompletionBackend(Protocol):
    name: str

    def info(self) -> BackendInfo: ...

    def prepare(self) -> None:
        """Load or connect; may block; runs on the engine's worker thread."""

    def complete(
        self,
        ctx: FimContext,
        params: GenerationParams,
        cancel: Cancellation,
        timings: RequestTimings,
    ) -> Iterator[str]:
        """Stream the text to insert at the cursor, piece by piece."""
        ...

    def close(self) -> None: ...


def make_backend(settings: Settings, notify: Notify) -> CompletionBackend:
    """The configured backend (modules are imported only when used)."""
    kind = settings.backend
    if kind == "none":
        from .none import NoModelBackend

        return NoModelBackend()
    if kind == "llama_server":
        from .llama_server import LlamaServerBackend

        return LlamaServerBackend(settings, notify=notify)
    if kind == "ollama":
        from .ollama import OllamaBackend

        return OllamaBackend(settings, notify=notify)
    if kind == "openai":
        from .openai_compat import OpenAIBackend

        return OpenAIBackend(settings, notify=notify)
    if kind == "auto":
        from .auto import AutoBackend

        return AutoBackend(settings, notify)
    from .embedded import EmbeddedBackend

    return EmbeddedBackend(settings, notify=notify)
