"""The life of a completion request: latest wins, one worker thread, streamed updates.

`submit()` returns at once. The worker thread builds the context, looks in the cache, asks the
backend and streams cleaned partial suggestions to `deliver`, then a final one. A newer request
cancels the one in flight (the backend stops decoding) and replaces any that is still queued
(worker.LatestWins).

process() is the pipeline: the buffer's text -> the rules' answer before any model -> the
context -> the rules shape the prompt -> the cache -> the backend's stream (the rules check
each state shown) -> clean and fit_to_syntax -> the rules correct the final text -> cache and
send. The rules themselves (Go errors, log lines) live in rules/.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import utf8
from .backends import Cancellation, CompletionBackend, Notify, daemon_timer, make_backend
from .buffers import BufferStore
from .cache import SuggestionCache
from .config import Settings
from .context import build_context, display_name
from .definitions import DefinitionIndex
from .document import Document
from .errors import LocalLLMError
from .postprocess import clean
from .privacy import denied, names_of
from .protocol import CompletionUpdate, UpdateKind
from .ring import ActivityRing
from .rules import Answer, Place, Question
from .rules import enabled as enabled_rules
from .rules.go_errors import GoPackages
from .source_files import SourceFiles
from .syntax_check import fit_to_syntax
from .types import BufferSnapshot, FimContext, GenerationParams, RequestTimings
from .worker import LatestWins

log = logging.getLogger(__name__)
HISTORY = 200
SLOW_STOP_MS = 1000.0  # a cancelled request still running after this long is counted


def _ms_since(ns: int) -> float:
    return (time.monotonic_ns() - ns) / 1e6


def _close(stream: object) -> None:
    close = getattr(stream, "close", None)
    if close is not None:
        close()


@dataclass(slots=True)
class CompletionRequest:
    id: int
    bufnr: int
    snapshot: BufferSnapshot
    timings: RequestTimings = field(default_factory=RequestTimings)
    root: str | None = None
    cancel: Cancellation = field(default_factory=Cancellation)
    # Speculative: the suggestion for the position after accepting the previous one, made
    # while the user looks at it; it only fills the cache (llama.vim does the same).
    speculative: bool = False
    # Prewarm: evaluate the prompt (new activity chunks) and generate one token; nothing kept.
    prewarm: bool = False


@dataclass(frozen=True, slots=True)
class Update:
    """One message to the UI: the suggestion so far (`final` once complete) or an error."""

    id: int
    bufnr: int
    text: str
    final: bool
    source: str
    timings: dict[str, Any]
    error: str | None = None

    def as_dict(self) -> CompletionUpdate:
        """The message for the UI (protocol.CompletionUpdate): no None in it."""
        kind: UpdateKind = "error" if self.error is not None else "done" if self.final else "text"
        msg = CompletionUpdate(
            id=self.id,
            kind=kind,
            final=self.final or self.error is not None,
            text=self.text,
            bufnr=self.bufnr,
            source=self.source,
            timings=self.timings,
        )
        if self.error is not None:
            msg["error"] = self.error
        return msg


Deliver = Callable[[Update], None]


class Engine:
    def __init__(
        self,
        settings: Settings,
        deliver: Deliver,
        *,
        notify: Notify | None = None,
        backend: CompletionBackend | None = None,
        start_worker: bool = True,
    ) -> None:
        self.settings = settings
        self._deliver = deliver
        self._notify: Notify = notify or (lambda level, message: None)
        self.backend = backend or make_backend(settings, self._notify)
        # Each suggestion is stored under four keys (see cache.py).
        self.cache = SuggestionCache(max(1, settings.cache_size) * 4)
        # ~3 characters per token, as context.estimate_tokens counts.
        self.ring = ActivityRing(settings.context.extra_chunks, settings.context.extra_tokens * 3)
        # Sibling files on disk, read once per version by both their readers, never a denied one.
        self.files = SourceFiles(max_files=576, exclude=self.denied)
        self.definitions = DefinitionIndex(files=self.files)
        self.buffers = BufferStore()  # the editor's buffers, mirrored for far context
        # Paths refused since a buffer that sent text under them became denied (purge()).
        self._purged: frozenset[str] = frozenset()
        # The named types of Go package folders, for error checks.
        self.go_packages = GoPackages(files=self.files)
        self.rules = enabled_rules(
            settings.rules, packages=self.go_packages, definitions=self.definitions
        )
        self._last: CompletionRequest | None = None
        self._last_window = ""
        self.history: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        # Requests that ran after their cancellation, and how long they took to stop.
        self.counters: dict[str, float] = {
            "ran_cancelled": 0,
            "stop_after_cancel_max_ms": 0.0,
            "slow_stops": 0,  # more than SLOW_STOP_MS
        }
        self._worker: LatestWins[CompletionRequest] = LatestWins(
            self._run,
            name="localllm-engine",
            on_error=self._failed,
            on_done=self._count_stop,
            start=start_worker,
        )

    @property
    def _thread(self) -> threading.Thread | None:
        return self._worker.thread

    # -- called from the editor thread -----------------------------------------------------

    def denied(self, path: str) -> bool:
        """A file that must never be sent or read (privacy.deny, by its name or real path, or
        purged: see purge()); the editor checks it first."""
        if denied(path, self.settings.privacy.patterns) is not None:
            return True
        purged = self._purged
        return bool(purged) and any(name in purged for name in names_of(path))

    def purge(self, bufnr: int | None, paths: list[str], refused: list[str]) -> None:
        """A buffer became denied (renamed to a secrets file, turned off): drop everything kept
        of it (activity chunks, its mirror, the last request's text, cached suggestions, the
        request in flight) and refuse the paths in `refused` from now on (the editor's whole
        list: a path no longer in it is accepted again)."""
        gone = set(paths)
        for path in paths:
            gone.update(names_of(path))
        self._purged = frozenset(p for path in refused for p in names_of(path))
        dropped = self.ring.drop(gone) if gone else 0
        if bufnr is None:
            return
        self.buffers.detach(bufnr)

        def kept_of(req: CompletionRequest) -> bool:
            return req.bufnr == bufnr or req.snapshot.path in gone

        # The request in flight may carry the dropped chunks; a queued one reads them later.
        self._worker.cancel_current()
        self._worker.cancel(kept_of)
        last = self._last
        if last is not None and kept_of(last):
            self._last, self._last_window = None, ""
        self.cache.clear()
        log.info("buffer %s purged: %d activity chunks dropped", bufnr, dropped)

    def submit(self, request: CompletionRequest) -> None:
        """Queue `request`; cancels the one in flight and drops any still queued."""
        if self.denied(request.snapshot.path):
            log.info("request %s dropped: the file is on the privacy deny list", request.id)
            self.buffers.detach(request.bufnr)
            return
        self._worker.submit(request)

    def cancel(self, request_id: int | None = None) -> None:
        self._worker.cancel(lambda req: request_id is None or req.id == request_id)

    def sync_buffer(
        self, bufnr: int, sync: dict[str, Any], tick: int, snapshot: BufferSnapshot
    ) -> bool:
        """Bring our copy of a buffer up to date: its whole text, or the lines each change
        replaced. False when the copy is out of step with the editor (send the whole text)."""
        if self.denied(snapshot.path):
            self.buffers.detach(bufnr)
            return True  # nothing kept, nothing to ask for again
        if "full" in sync:
            text = utf8.encode("\n".join(map(utf8.as_text, sync["full"])))
            self.buffers.attach(bufnr, text, tick)
        else:
            for first, last, lines in sync.get("edits") or ():
                if not self.buffers.replace_lines(bufnr, int(first), int(last), lines, tick):
                    return False
        doc = self.buffers.get(bufnr)
        if doc is None or not doc.matches(snapshot):
            self.buffers.detach(bufnr)
            return False
        return True

    def add_activity(self, path: str, text: str, kind: str, root: str | None = None) -> None:
        """Recent activity (an edited region, a yank, a buffer left) for later prompts."""
        if self.denied(path):
            return
        if self.settings.context.extra_tokens and self.settings.context.extra_chunks:
            self.ring.add(display_name(path, root), text, kind, source=path)

    def promote(self) -> None:
        """A quiet moment: queued activity joins the prompt; the model reads it now, while the
        user pauses, so the next suggestion does not wait for it."""
        if not self.ring.promote(self._last_window):
            return
        last = self._last
        if last is not None:
            self._worker.offer(
                CompletionRequest(
                    id=last.id,
                    bufnr=last.bufnr,
                    snapshot=last.snapshot,
                    root=last.root,
                    speculative=True,
                    prewarm=True,
                )
            )

    def idle(self) -> bool:
        return self._worker.idle()

    def status(self) -> dict[str, Any]:
        info = self.backend.info()
        return {
            "backend": info.name,
            "model": info.model,
            "fim": info.fim,
            "state": info.state,
            "detail": info.detail,
            "cache_entries": len(self.cache),
            "extra_chunks": [path for path, _ in self.ring.chunks()],
            "queued_chunks": self.ring.queued_paths(),
            "mirrored": {str(b): n for b, n in self.buffers.line_counts().items()},
            "last": self.history[-1] if self.history else None,
            "running": self._running(),
            "counters": dict(self.counters),
        }

    def _running(self) -> dict[str, Any] | None:
        """The request in flight: its id, and how long ago it was cancelled (0: it was not)."""
        current = self._worker.current
        if current is None:
            return None
        cancelled_ns = current.cancel.cancelled_ns
        since = (time.monotonic_ns() - cancelled_ns) / 1e6 if cancelled_ns else 0.0
        return {"id": current.id, "speculative": current.speculative, "cancelled_ms": since}

    def close(self) -> None:
        self._worker.close()
        self.backend.close()

    # -- worker thread ---------------------------------------------------------------------

    def _run(self, request: CompletionRequest) -> CompletionRequest | None:
        """One request, and the speculative one to run after it, if any."""
        return self._speculation(request, self.process(request))

    def _failed(self, request: CompletionRequest) -> None:
        """process() raised: the user gets an error, the log the traceback."""
        log.exception("request %s failed", request.id)
        self._send_error(request, "internal error; see the log file for details")

    def _speculation(self, request: CompletionRequest, text: str) -> CompletionRequest | None:
        """The request for the place after accepting `text`, to fill the cache meanwhile."""
        if not text or not self.settings.speculative or request.speculative:
            return None
        if request.cancel.cancelled:
            return None
        try:
            snapshot = request.snapshot.with_insertion(text)
        except Exception:  # only a cache fill is lost
            log.exception("request %s: no speculative follow-up", request.id)
            return None
        # The final update is on its way out through pynvim's thread: yield the GIL to it before
        # this work holds it (measured: the ghost was drawn 1.2 ms later without).
        time.sleep(0.001)
        return CompletionRequest(
            id=request.id,
            bufnr=request.bufnr,
            snapshot=snapshot,
            root=request.root,
            speculative=True,
        )

    def _count_stop(self, request: CompletionRequest) -> None:
        """A request that was cancelled while it ran: how long it went on after that."""
        cancelled_ns = request.cancel.cancelled_ns
        if not cancelled_ns:
            return
        ms = max(0.0, (time.monotonic_ns() - cancelled_ns) / 1e6)
        c = self.counters
        c["ran_cancelled"] += 1
        c["stop_after_cancel_max_ms"] = max(c["stop_after_cancel_max_ms"], round(ms, 3))
        if ms > SLOW_STOP_MS:
            c["slow_stops"] += 1

    def _send(self, request: CompletionRequest, text: str, final: bool, source: str) -> None:
        if request.speculative:
            return
        timings = request.timings
        if final:
            timings.done_ns = time.monotonic_ns()
            timings.source = source
            record = {"id": request.id, **timings.as_dict()}
            self.history.append(record)
        self._deliver(
            Update(request.id, request.bufnr, text, final, source, request.timings.as_dict())
        )

    def _send_error(self, request: CompletionRequest, message: str) -> None:
        if request.speculative:
            return
        request.timings.done_ns = time.monotonic_ns()
        self._deliver(
            Update(request.id, request.bufnr, "", True, "error", request.timings.as_dict(), message)
        )

    def process(self, request: CompletionRequest) -> str:
        """Run one request to the end on the calling thread; returns the final suggestion."""
        started = self._started(request)
        if request.cancel.cancelled:
            return ""
        document = self.buffers.document(
            request.bufnr, request.snapshot, keep=not request.speculative
        )
        place = Place(request.snapshot, document)
        # Rules that need no model come first: they answer before any context is built.
        answer = None if request.prewarm else self.rules.answer(place)
        if answer is not None and answer.question is None:
            request.timings.context_ms = _ms_since(started)
            self._send(request, answer.text, True, "rule")
            return answer.text
        ctx = self._context(request, place.document, started)
        # Cached by the place, not by the prompt a rule made of it: a rule may write the start
        # of the answer into the prompt (a log format's opening quote), and the place where the
        # user has typed that start is another place.
        place_ctx = ctx
        if answer is None and not request.prewarm:
            ctx = self.rules.shape(place, ctx)
        cached = None if request.prewarm else self.cache.get(place_ctx)
        if cached is not None:
            if request.speculative:
                return ""
            self._send(request, cached, True, "cache")
            return cached
        if answer is not None:
            return self._answer_with_model(request, answer, ctx)
        raw = self._generate(request, ctx, lambda text: self.rules.check(place, ctx, text))
        if raw is None:
            return ""  # cancelled, failed (the user was told), or a prewarm
        final = clean(raw, ctx, final=True, max_lines=self.settings.max_lines).text
        final = fit_to_syntax(final, ctx)  # multi-line only: cut back to what parses
        final = self.rules.correct(place, ctx, final)
        if final:
            self.cache.put(place_ctx, final)
        # Buffer text and model output: the log file gets them at the debug level only.
        log.debug("request %s: line %r, suggestion %r", request.id, ctx.middle, final)
        self._send(request, final, True, "model")
        return final

    # -- the stages of process() -----------------------------------------------------------

    def _started(self, request: CompletionRequest) -> int:
        """Now, and the time the request waited in the queue."""
        timings = request.timings
        started = time.monotonic_ns()
        if timings.received_ns:
            timings.queue_ms = (started - timings.received_ns) / 1e6
        else:
            timings.received_ns = started
        return started

    def _context(self, request: CompletionRequest, document: Document, started: int) -> FimContext:
        ctx = build_context(
            request.snapshot,
            self.settings.context,
            root=request.root,
            definitions=self.definitions,
            document=document,
        )
        # Recent activity first: it changes only at quiet moments; definitions follow the cursor.
        extra = self.ring.chunks() + ctx.extra
        if extra:
            ctx = dataclasses.replace(ctx, extra=extra)
        if not request.speculative:
            self._last = request
            self._last_window = ctx.prefix + ctx.middle + ctx.line_suffix + ctx.suffix
        request.timings.context_ms = _ms_since(started)
        return ctx

    def _prepared(self, request: CompletionRequest) -> bool:
        """The backend is ready (loaded, reachable); else the user is told why."""
        try:
            self.backend.prepare()
        except LocalLLMError as exc:
            if not request.cancel.cancelled:
                self._send_error(request, str(exc))
            return False
        return not request.cancel.cancelled

    def _generate(
        self, request: CompletionRequest, ctx: FimContext, check: Callable[[str], str]
    ) -> str | None:
        """The model's raw answer, each cleaned state that passes `check` shown on the way;
        None when cancelled, failed (the user was told) or a prewarm."""
        if not self._prepared(request):
            return None
        params = self.settings.generation
        if request.prewarm:
            params = dataclasses.replace(params, n_predict=1)
        timings = request.timings
        timings.backend_start_ns = time.monotonic_ns()
        # The time limit counts from the first token, whatever the backend: a server that
        # stalls mid-answer (or streams on past it) is stopped and what it produced is shown.
        limit = Cancellation()
        request.cancel.on_cancel(limit.cancel)
        try:
            raw = self._stream(request, ctx, params, limit, check)
        except LocalLLMError as exc:
            if not request.cancel.cancelled:  # else caused by our own cancellation: not reported
                self._send_error(request, str(exc))
            return None
        if limit.cancelled and not request.cancel.cancelled:
            timings.finish = "time_limit"
        if request.cancel.cancelled:
            timings.finish = "cancelled"
            timings.done_ns = time.monotonic_ns()
            if not request.speculative:
                self.history.append({"id": request.id, **timings.as_dict()})
            return None
        return None if request.prewarm else raw  # a prewarm only filled the model's cache

    def _stream(
        self,
        request: CompletionRequest,
        ctx: FimContext,
        params: GenerationParams,
        limit: Cancellation,
        check: Callable[[str], str],
    ) -> str:
        timings = request.timings
        raw = ""
        shown = ""
        timer: threading.Timer | None = None
        stream = self.backend.complete(ctx, params, limit, timings)
        # The calls a backend makes for the answer (tokenizing) end with it, too.
        with limit.governs_calls():
            try:
                for piece in stream:
                    now = time.monotonic_ns()
                    if not timings.first_token_ns:
                        timings.first_token_ns = now
                        timer = daemon_timer(params.time_limit_ms / 1000.0, limit.cancel)
                    timings.last_token_ns = now
                    raw += piece
                    if request.cancel.cancelled:
                        break
                    partial = clean(raw, ctx, final=False, max_lines=self.settings.max_lines)
                    text = check(partial.text)
                    if text and text != shown:
                        shown = text
                        self._send(request, shown, False, "model")
                    if partial.complete:
                        timings.finish = timings.finish or partial.reason
                        break
            finally:
                if timer is not None:
                    timer.cancel()
                _close(stream)
        return raw

    # -- a rule's answer that leaves a piece to the model ----------------------------------

    def _answer_with_model(
        self, request: CompletionRequest, answer: Answer, ctx: FimContext
    ) -> str:
        """Show the rule's answer at once, then ask the model for the piece it leaves (a
        Go error's message); the rest stays the rule's."""
        assert answer.question is not None
        self._send(request, answer.text, False, "rule")
        final = None
        if self.backend.name != "none":
            final = self._ask(request, answer.question)
        if request.cancel.cancelled:
            return ""
        if final is None:
            self._send(request, answer.text, True, "rule")
            return answer.text
        self.cache.put(ctx, final)  # the model is asked once per place
        self._send(request, final, True, "rule+model")
        return final

    def _ask(self, request: CompletionRequest, question: Question) -> str | None:
        # As if the user had typed the answer up to the piece (the window only: the host's
        # copy of the buffer does not have it).
        snap = request.snapshot.with_insertion(question.prefix)
        ctx = build_context(snap, self.settings.context, root=request.root)
        params = dataclasses.replace(
            self.settings.generation, n_predict=question.n_predict, stop=question.stop
        )
        raw = ""
        # The answer is already on screen: a slow or stalled model only loses the piece.
        limit = Cancellation()
        request.cancel.on_cancel(limit.cancel)
        timer = daemon_timer(params.time_limit_ms / 1000.0, limit.cancel)
        try:
            with limit.governs_calls():
                self.backend.prepare()
                stream = self.backend.complete(ctx, params, limit, RequestTimings())
                try:
                    for piece in stream:
                        raw += piece
                        if any(stop in raw for stop in question.stop) or limit.cancelled:
                            break
                finally:
                    _close(stream)
        except LocalLLMError as exc:
            log.info("no answer from the model (%s)", type(exc).__name__)
            log.debug("no answer from the model: %s", exc)
            return None
        finally:
            timer.cancel()
        return question.finish(raw, limit.cancelled)
