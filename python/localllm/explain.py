""":LocalLLMExplain's worker: one question at a time on its own thread, streamed to the UI.

`submit()` returns at once; a newer question cancels the one in flight (the backend stops
generating). The chat model is the completion backend's unless the `explain` settings name
another one; when both are the same embedded model, the backend itself makes the two take
turns (a llama.cpp model is not thread-safe). Events for the UI are protocol.ExplainUpdate,
the update shape completion uses too: all have the request's `id`, `kind`, `final` and `text`:

- {"kind": "start", "model", "title", "note", "model_note", "start_row", "end_row"}
- {"kind": "text", "text"}: the next piece of the answer
- {"kind": "done", "finish", "tokens", "prompt_tokens", "first_ms", "total_ms", "tokens_per_s"}
- {"kind": "error", "error"}: what went wrong and what to do about it

A cancelled question sends nothing more.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from .backends import Cancellation, CompletionBackend, Notify
from .backends.chat import DEFAULT_CONTEXT, ChatBackend, ChatParams, ChatStats
from .config import Settings
from .definitions import DefinitionIndex
from .errors import LocalLLMError, ModelError
from .explain_prompt import ExplainRequest, PromptTooSmall, build_prompt
from .privacy import denied
from .protocol import ExplainUpdate, clean, parse_explain
from .worker import LatestWins

log = logging.getLogger(__name__)

Emit = Callable[[ExplainUpdate], None]
HISTORY = 20


@dataclass(slots=True)
class _Job:
    request: ExplainRequest
    cancel: Cancellation = field(default_factory=Cancellation)
    received_ns: int = field(default_factory=time.monotonic_ns)


def request_from_payload(raw: object) -> ExplainRequest:
    """The editor's message (protocol.ExplainMsg, from lua/localllm/explain.lua) as an
    ExplainRequest; KeyError/TypeError/ValueError when it is malformed."""
    p = parse_explain(raw)
    return ExplainRequest(
        id=p["id"],
        path=p["path"],
        filetype=p["filetype"],
        lines=tuple(p["lines"]),
        first_line=p["first_line"],
        ranged=p["ranged"],
        start_row=p["start_row"],
        end_row=p["end_row"],
        start_col=p.get("start_col"),
        end_col=p.get("end_col"),
        cursor_row=p["cursor_row"],
        question=p["question"],
        root=p["root"] or None,
        head=tuple(p.get("head", ())),
    )


def event(request_id: int, fields: dict[str, Any]) -> ExplainUpdate:
    """One event of question `request_id` in the shared update shape: `final` on 'done' and
    'error', `text` always (empty but on 'text'), no None anywhere."""
    kind = fields["kind"]
    out = {"id": request_id, "final": kind in ("done", "error"), "text": "", **fields}
    return cast(ExplainUpdate, clean(out))


def _unwrap(backend: CompletionBackend | None) -> CompletionBackend | None:
    """The backend `auto` chose (choosing now if it has not yet)."""
    from .backends.auto import AutoBackend

    if isinstance(backend, AutoBackend):
        return backend.choose()
    return backend


def resolve_chat_backend(
    settings: Settings, completion: CompletionBackend | None, notify: Notify
) -> tuple[ChatBackend, bool]:
    """The chat backend for explain, and whether it is ours (True) or the completion
    backend itself (False, shared: never closed here)."""
    ex = settings.explain
    kind = ex.backend or ("embedded" if ex.model else None)
    inner = _unwrap(completion) if kind is None or settings.backend == "auto" else completion
    if kind is None:
        kind = inner.name if inner is not None else settings.backend
    if kind == "none":
        raise ModelError(
            "no model to explain with: `backend` is 'none' — set explain.model to an instruct "
            "GGUF, or explain.backend to a server"
        )
    if inner is not None and inner.name == kind and hasattr(inner, "chat"):
        if kind == "embedded":
            same = ex.model is None or ex.model == settings.model
        else:
            same = ex.url is None and ex.server_model is None
        if same:
            return inner, False  # type: ignore[return-value]
    if kind == "embedded":
        from .backends.embedded import EmbeddedBackend

        return EmbeddedBackend(
            dataclasses.replace(settings, model=ex.model or settings.model), notify=notify
        ), True
    if kind == "llama_server":
        from .backends.llama_server import LlamaServerBackend

        url = ex.url or (getattr(inner, "url", None) if inner is not None else None)
        return LlamaServerBackend(settings, notify=notify, base_url=url), True
    if kind == "ollama":
        from .backends.ollama import OllamaBackend

        ollama = OllamaBackend(settings, notify=notify, base_url=ex.url)
        ollama.chat_name = ex.server_model
        return ollama, True
    if kind == "openai":
        from .backends.openai_compat import OpenAIBackend

        oa = dataclasses.replace(
            settings.openai,
            url=ex.url or settings.openai.url,
            model=ex.server_model or settings.openai.model,
        )
        return OpenAIBackend(dataclasses.replace(settings, openai=oa), notify=notify), True
    raise ModelError(f"explain cannot use the backend {kind!r}")


class ExplainService:
    def __init__(
        self,
        settings: Settings,
        emit: Emit,
        *,
        completion: CompletionBackend | None = None,
        notify: Notify | None = None,
        chat: ChatBackend | None = None,
        start_worker: bool = True,
        exclude: Callable[[str], bool] | None = None,
        index: DefinitionIndex | None = None,
    ) -> None:
        """`index`: the definitions of sibling files, shared with the engine (else one of
        its own, honouring `exclude`)."""
        self.settings = settings
        self._emit = emit
        self._completion = completion
        self._notify: Notify = notify or (lambda level, message: None)
        self._chat = chat
        self._owned = False
        # Files never sent or read: privacy.deny, or the engine's (which knows purged paths).
        self._exclude = exclude or (
            lambda path: denied(path, settings.privacy.patterns) is not None
        )
        self.index = index if index is not None else DefinitionIndex(exclude=self._exclude)
        self.history: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        self._worker: LatestWins[_Job] = LatestWins(
            self.process,
            name="localllm-explain",
            on_error=self._failed,
            start=start_worker,
            join_timeout=10,
        )

    # -- called from the editor thread -----------------------------------------------------

    def submit(self, request: ExplainRequest) -> None:
        if self._exclude(request.path):
            self._emit(
                event(
                    request.id,
                    {
                        "kind": "error",
                        "error": "nothing of this file is sent to the model (privacy.deny)",
                    },
                )
            )
            return
        self._worker.submit(_Job(request))

    def cancel(self, request_id: int | None = None) -> None:
        dropped = self._worker.cancel(
            lambda job: request_id is None or job.request.id == request_id
        )
        if dropped is not None:
            self._record(dropped, "cancelled", ChatStats(), 0, 0)

    def status(self) -> dict[str, Any]:
        current = self._worker.current
        busy = current.request.id if current is not None else None
        return {"busy": busy, "history": list(self.history)}

    def idle(self) -> bool:
        return self._worker.idle()

    def close(self) -> None:
        self._worker.close()
        if self._owned and self._chat is not None:
            self._chat.close()
        self._chat = None

    # -- worker thread ---------------------------------------------------------------------

    def _failed(self, job: _Job) -> None:
        """process() raised: the log has the traceback, the user an error."""
        log.exception("explain request %s failed", job.request.id)
        self._send(job, {"kind": "error", "error": "internal error; see the log file"})

    def _send(self, job: _Job, fields: dict[str, Any]) -> None:
        if not job.cancel.cancelled:
            self._emit(event(job.request.id, fields))

    def _record(
        self, job: _Job, finish: str, stats: ChatStats, first_ns: int, done_ns: int
    ) -> dict[str, Any]:
        def ms(end: int) -> float:
            return round((end - job.received_ns) / 1e6, 3) if end else -1.0

        tokens_per_s = 0.0
        if first_ns and done_ns > first_ns and stats.generated_tokens > 1:
            tokens_per_s = round((stats.generated_tokens - 1) / ((done_ns - first_ns) / 1e9), 2)
        record = {
            "id": job.request.id,
            "finish": finish,
            "tokens": stats.generated_tokens,
            "prompt_tokens": stats.prompt_tokens,
            "first_ms": ms(first_ns),
            "total_ms": ms(done_ns),
            "tokens_per_s": tokens_per_s,
        }
        self.history.append(record)
        return record

    def _backend(self) -> ChatBackend:
        if self._chat is None:
            self._chat, self._owned = resolve_chat_backend(
                self.settings, self._completion, self._notify
            )
        return self._chat

    def process(self, job: _Job) -> None:
        """Answer one question on the calling thread."""
        req = job.request
        stats = ChatStats()
        if job.cancel.cancelled:
            self._record(job, "cancelled", stats, 0, 0)
            return
        try:
            backend = self._backend()
            model = backend.chat_model()
        except LocalLLMError as exc:
            self._record(job, "error", stats, 0, time.monotonic_ns())
            self._send(job, {"kind": "error", "error": str(exc)})
            return
        ex = self.settings.explain
        n_ctx = model.n_ctx or DEFAULT_CONTEXT
        max_tokens = min(ex.max_tokens, max(16, n_ctx // 2))
        try:
            prompt = build_prompt(req, n_ctx=n_ctx, max_tokens=max_tokens, index=self.index)
        except PromptTooSmall as exc:
            self._record(job, "error", stats, 0, time.monotonic_ns())
            self._send(job, {"kind": "error", "error": str(exc)})
            return
        self._send(
            job,
            {
                "kind": "start",
                "model": model.label,
                "title": prompt.title,
                "note": prompt.note,
                "model_note": model.note,
                "start_row": prompt.target.start_row,
                "end_row": prompt.target.end_row,
                "context": prompt.context,
            },
        )
        log.debug("explain %s: %s", req.id, prompt.messages[1]["content"])
        params = ChatParams(max_tokens=max_tokens, temperature=ex.temperature)
        first_ns = 0
        pieces = 0
        finish = ""
        stream: Iterator[str] = backend.chat(prompt.messages, params, job.cancel, stats)
        try:
            for piece in stream:
                if job.cancel.cancelled:
                    break
                if not first_ns:
                    first_ns = time.monotonic_ns()
                pieces += 1
                self._send(job, {"kind": "text", "text": piece})
        except LocalLLMError as exc:
            finish = "error"
            self._send(job, {"kind": "error", "error": str(exc)})
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        done_ns = time.monotonic_ns()
        if job.cancel.cancelled:
            finish = "cancelled"
        finish = finish or stats.finish or "stop"
        stats.generated_tokens = stats.generated_tokens or pieces
        record = self._record(job, finish, stats, first_ns, done_ns)
        if finish not in ("error", "cancelled"):
            self._send(job, {"kind": "done", **record})
