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

import httpx

from ..errors import BackendError
from ..types import FimContext, GenerationParams, RequestTimings
from . import BackendInfo, Cancellation, CompletionBackend, Notify

if TYPE_CHECKING:
    from ..config import Settings

log = logging.getLogger(__name__)

LLAMA_SERVER_PORTS = (8012, 8080)
PROBE_TIMEOUT_S = 0.5


def looks_like_llama_server(url: str, timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """llama.cpp's /health answers 200 {"status": "ok"} or 503 while it loads the model."""
    try:
        response = httpx.get(url + "/health", timeout=timeout_s)
    except httpx.HTTPError:
        return False
    if response.status_code not in (200, 503):
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    if response.status_code == 200:
        return isinstance(body, dict) and body.get("status") == "ok"
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and error.get("type") == "unavailable_error"


def ollama_models(url: str, timeout_s: float = PROBE_TIMEOUT_S) -> list[str] | None:
    """Names of the models Ollama has pulled, or None when no Ollama answers at `url`."""
    try:
        response = httpx.get(url + "/api/tags", timeout=timeout_s)
        body = response.json()
    except (httpx.HTTPError, ValueError):
        return None
    if response.status_code != 200 or not isinstance(body, dict):
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
        self.reason = "not chosen yet (on the first request)"

    def choose(self) -> CompletionBackend:
        with self._lock:
            if self._chosen is None:
                self._chosen = self._probe()
                log.info("auto backend: %s (%s)", self._chosen.name, self.reason)
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
        with self._lock:
            if self._chosen is not None:
                self._chosen.close()
