"""`backend = "auto"`: use what the user already runs, else the embedded model.

A `model` path in the config means the embedded backend. Otherwise, in order: a llama-server
(the configured URL, else 127.0.0.1:8012, llama.vim's port, then :8080), then Ollama with a
model that can fill in the middle, then the embedded backend. The probes are quick loopback
requests made once, on the engine's worker thread; the choice and the reason show in
:LocalLLM status. Once chosen, a server that goes away is retried with backoff by the backend
itself (it is used again when it comes back), so the choice is not re-made per request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..errors import BackendError, BackendUnavailable
from ..types import FimContext, GenerationParams, RequestTimings
from . import BackendInfo, Cancellation, CompletionBackend, Notify
from .http import probe_json

if TYPE_CHECKING:
    from ..config import Settings

log = logging.getLogger(__name__)

LLAMA_SERVER_PORTS = (8012, 8080)
PROBE_TIMEOUT_S = 0.5  # the whole of one probe, answer included


def looks_like_llama_server(url: str, timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """llama.cpp's /health answers 200 {"status": "ok"} or 503 while it loads the model."""
    answer = probe_json(url, "/health", timeout_s)
    if answer is None:
        return False
    status, body = answer
    if status == 200:
        return isinstance(body, dict) and body.get("status") == "ok"
    error = body.get("error") if isinstance(body, dict) and status == 503 else None
    return isinstance(error, dict) and error.get("type") == "unavailable_error"


def ollama_models(url: str, timeout_s: float = PROBE_TIMEOUT_S) -> list[str] | None:
    """Names of the models Ollama has pulled, or None when no Ollama answers at `url`."""
    answer = probe_json(url, "/api/tags", timeout_s)
    if answer is None:
        return None
    status, body = answer
    if status != 200 or not isinstance(body, dict):
        return None
    models = body.get("models")
    if not isinstance(models, list):
        return None
    return [str(m.get("name")) for m in models if isinstance(m, dict) and m.get("name")]


class AutoBackend:
    name = "auto"

    def __init__(self, settings: Settings, notify: Notify) -> None:
        self._settings = settings
        self._notify = notify
        self._lock = threading.Lock()
        self._chosen: CompletionBackend | None = None
        self._closed = False
        self.reason = "not chosen yet (on the first request)"

    def choose(self) -> CompletionBackend:
        with self._lock:
            if self._chosen is None:
                chosen = self._probe()
                if self._closed:  # closed while it probed
                    chosen.close()
                    raise BackendUnavailable("the plugin closed this backend")
                self._chosen = chosen
                log.info("auto backend: %s (%s)", chosen.name, self.reason)
            return self._chosen

    def _probe(self) -> CompletionBackend:
        s = self._settings
        if s.model:
            from .embedded import EmbeddedBackend

            self.reason = "`model` is set: the embedded backend runs it"
            return EmbeddedBackend(s, notify=self._notify)
        tried: list[str] = []
        candidates = (
            [s.llama_server.url]
            if s.llama_server.url
            else [f"http://127.0.0.1:{port}" for port in LLAMA_SERVER_PORTS]
        )
        for url in candidates:
            if looks_like_llama_server(url):
                from .llama_server import LlamaServerBackend

                self.reason = f"a llama-server answers at {url}"
                return LlamaServerBackend(s, notify=self._notify, base_url=url)
            tried.append(f"no llama-server at {url}")

        models = ollama_models(s.ollama.url)
        if models is None:
            tried.append(f"no Ollama at {s.ollama.url}")
        elif not models:
            tried.append(f"Ollama at {s.ollama.url} has no models")
        else:
            from .ollama import OllamaBackend

            ollama = OllamaBackend(s, notify=self._notify)
            try:
                ollama.prepare()
            except BackendError as exc:
                tried.append(f"Ollama at {s.ollama.url}: {exc}")
                ollama.close()
            else:
                model = ollama.info().model
                self.reason = f"Ollama at {s.ollama.url} has {model}"
                return ollama

        from .embedded import EmbeddedBackend

        self.reason = "; ".join(tried) + " — using the embedded model"
        return EmbeddedBackend(s, notify=self._notify)

    # -- the backend interface, delegated -----------------------------------------------------

    def info(self) -> BackendInfo:
        if self._chosen is None:
            return BackendInfo(self.name, None, None, "idle", self.reason)
        inner = self._chosen.info()
        detail = f"auto → {inner.name}: {self.reason}"
        if inner.detail:
            detail += f"; {inner.detail}"
        return BackendInfo(inner.name, inner.model, inner.fim, inner.state, detail)

    def prepare(self) -> None:
        self.choose().prepare()

    def complete(
        self,
        ctx: FimContext,
        params: GenerationParams,
        cancel: Cancellation,
        timings: RequestTimings,
    ) -> Iterator[str]:
        return self.choose().complete(ctx, params, cancel, timings)

    def close(self) -> None:
        # Not under the lock: a probe holds it, and closing must not wait for a silent server.
        self._closed = True
        chosen = self._chosen
        if chosen is not None:
            chosen.close()
