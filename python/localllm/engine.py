"""The life of a completion request: latest wins, one worker thread, streamed updates.

`submit()` returns at once. The worker thread builds the context, looks in the cache, asks the
backend and streams cleaned partial suggestions to `deliver`, then a final one. A newer request
cancels the one in flight (the backend stops decoding) and replaces any that is still queued.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import treesitter, utf8
from .backends import Cancellation, CompletionBackend, Notify, make_backend
from .buffers import BufferStore
from .cache import SuggestionCache
from .config import Settings
from .context import build_context, display_name
from .definitions import DefinitionIndex
from .errors import LocalLLMError
from .goerr import ErrCheck, GoPackages, clean_message, correct_returns, expected_returns
from .goerr import suggest as suggest_err_check
from .loglines import LANGUAGES as LOG_LANGUAGES
from .loglines import LogSite, find_log_site
from .postprocess import clean
from .privacy import denied, names_of
from .prompt import comment_leader
from .ring import ActivityRing
from .syntax_check import fit_to_syntax
from .types import BufferSnapshot, FimContext, RequestTimings

log = logging.getLogger(__name__)
HISTORY = 200
SLOW_STOP_MS = 1000.0  # a cancelled request still running after this long is counted


def _text_and_row(snap: BufferSnapshot, whole: str | None) -> tuple[str, int]:
    """The buffer's text as the host knows it (its mirror, else the window the editor sent)
    and the cursor's row in it."""
    if whole is None:
        return "\n".join(snap.lines), snap.row - snap.first_line
    return whole, snap.row


def _as_comment(chunk: str, ctx: FimContext) -> str:
    """Prompt lines (the logger's declaration, log calls of the file, names in scope) as
    comments at the cursor line's indentation."""
    if not chunk.strip():
        return ""
    marker = comment_leader(ctx.language) or "//"
    indentation = ctx.indentation
    out = []
    for line in chunk.strip("\n").split("\n"):
        line = line.strip()
        if not line.startswith(marker):
            line = f"{marker} {line}"
        out.append(indentation + line + "\n")
    return "".join(out)


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

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "bufnr": self.bufnr,
            "text": self.text,
            "final": self.final,
            "source": self.source,
            "timings": self.timings,
            "error": self.error,
        }


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
        self.definitions = DefinitionIndex(exclude=self.denied)
        self.buffers = BufferStore()  # the editor's buffers, mirrored for far context
        # Paths refused since a buffer that sent text under them became denied (purge()).
        self._purged: frozenset[str] = frozenset()
        # The named types of Go package folders, for error checks.
        self.go_packages = GoPackages(exclude=self.denied)
        self._last: CompletionRequest | None = None
        self._last_window = ""
        self._cond = threading.Condition()
        self._pending: CompletionRequest | None = None
        self._current: CompletionRequest | None = None
        self._closed = False
        self.history: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        # Requests that ran after their cancellation, and how long they took to stop.
        self.counters: dict[str, float] = {
            "ran_cancelled": 0,
            "stop_after_cancel_max_ms": 0.0,
            "slow_stops": 0,  # more than SLOW_STOP_MS
        }
        self._thread: threading.Thread | None = None
        if start_worker:
            self._thread = threading.Thread(target=self._work, name="localllm-engine", daemon=True)
            self._thread.start()

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
        with self._cond:
            # The request in flight may carry the dropped chunks; a queued one reads them later.
            if self._current is not None:
                self._current.cancel.cancel()
            req = self._pending
            if req is not None and (req.bufnr == bufnr or req.snapshot.path in gone):
                req.cancel.cancel()
            if self._pending is not None and self._pending.cancel.cancelled:
                self._pending = None
            last = self._last
            if last is not None and (last.bufnr == bufnr or last.snapshot.path in gone):
                self._last, self._last_window = None, ""
        self.cache.clear()
        log.info("buffer %s purged: %d activity chunks dropped", bufnr, dropped)

    def submit(self, request: CompletionRequest) -> None:
        """Queue `request`; cancels the one in flight and drops any still queued."""
        if self.denied(request.snapshot.path):
            log.info("request %s dropped: the file is on the privacy deny list", request.id)
            self.buffers.detach(request.bufnr)
            return
        with self._cond:
            if self._closed:
                return
            if self._current is not None:
                self._current.cancel.cancel()
            self._pending = request
            self._cond.notify()

    def cancel(self, request_id: int | None = None) -> None:
        with self._cond:
            for req in (self._pending, self._current):
                if req is not None and (request_id is None or req.id == request_id):
                    req.cancel.cancel()
            if self._pending is not None and self._pending.cancel.cancelled:
                self._pending = None

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
            self.buffers.attach(bufnr, text, tick, None)
        else:
            for first, last, lines in sync.get("edits") or ():
                if not self.buffers.replace_lines(bufnr, int(first), int(last), lines, tick):
                    return False
        doc = self.buffers.get(bufnr)
        row = snapshot.row
        if (
            doc is None
            or doc.line_count != snapshot.line_count
            or doc.lines(row, row + 1) != [snapshot.cursor_line]
        ):
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
        with self._cond:
            last = self._last
            if last is not None and self._pending is None and self._current is None:
                self._pending = CompletionRequest(
                    id=last.id,
                    bufnr=last.bufnr,
                    snapshot=last.snapshot,
                    root=last.root,
                    speculative=True,
                    prewarm=True,
                )
                self._cond.notify()

    def idle(self) -> bool:
        with self._cond:
            return self._pending is None and self._current is None

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
        with self._cond:
            current = self._current
        if current is None:
            return None
        cancelled_ns = current.cancel.cancelled_ns
        since = (time.monotonic_ns() - cancelled_ns) / 1e6 if cancelled_ns else 0.0
        return {"id": current.id, "speculative": current.speculative, "cancelled_ms": since}

    def close(self) -> None:
        with self._cond:
            self._closed = True
            for req in (self._pending, self._current):
                if req is not None:
                    req.cancel.cancel()
            self._pending = None
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.backend.close()

    # -- worker thread ---------------------------------------------------------------------

    def _work(self) -> None:
        """The worker thread. Nothing a request does may end it: should anything escape the
        loop's own guards, it is logged and the loop starts again."""
        while True:
            try:
                self._run()
                return  # closed
            except Exception:
                log.exception("the completion worker failed; it goes on")
                with self._cond:
                    self._current = None

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._closed:
                    self._cond.wait()
                request = self._pending
                if self._closed or request is None:
                    return
                self._pending = None
                self._current = request
            text = self._process_guarded(request)
            follow = self._speculation(request, text)
            with self._cond:
                self._current = None
                self._count_stop(request)
                if (
                    follow is not None
                    and not request.cancel.cancelled
                    and self._pending is None
                    and not self._closed
                ):
                    self._pending = follow

    def _process_guarded(self, request: CompletionRequest) -> str:
        """process(), whatever it raises: the user gets an error, the log the traceback."""
        try:
            return self.process(request)
        except Exception:
            log.exception("request %s failed", request.id)
            try:
                self._send_error(request, "internal error; see the log file for details")
            except Exception:
                log.exception("request %s: the error could not be delivered", request.id)
            return ""

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
        timings = request.timings
        started = time.monotonic_ns()
        if timings.received_ns:
            timings.queue_ms = (started - timings.received_ns) / 1e6
        else:
            timings.received_ns = started
        if request.cancel.cancelled:
            return ""
        doc = self.buffers.get(request.bufnr)
        whole = None
        snap = request.snapshot
        if (
            doc is not None
            and doc.line_count == snap.line_count
            # The UI cuts a very long cursor line: then the copy does not describe this request.
            and doc.lines(snap.row, snap.row + 1) == [snap.cursor_line]
        ):
            whole = utf8.decode(doc.text)
        # Rules that need no model come first: they answer before any context is built.
        check = None if request.prewarm else self._err_check(request, whole)
        if check is not None and not check.message_prefix:
            timings.context_ms = (time.monotonic_ns() - started) / 1e6
            self._send(request, check.text, True, "rule")
            return check.text
        ctx = build_context(
            request.snapshot,
            self.settings.context,
            root=request.root,
            definitions=self.definitions,
            whole=whole,
        )
        # Recent activity first: it changes only at quiet moments; definitions follow the cursor.
        extra = self.ring.chunks() + ctx.extra
        if extra:
            ctx = dataclasses.replace(ctx, extra=extra)
        if not request.speculative:
            self._last = request
            self._last_window = ctx.prefix + ctx.middle + ctx.line_suffix + ctx.suffix
        timings.context_ms = (time.monotonic_ns() - started) / 1e6

        site = None if request.prewarm or check else self._log_site(request, ctx, whole)
        if site is not None:
            # One line, ending where the call ends; the logger, the file's log calls and the
            # names in scope go just above the cursor line (the prompt start stays the same).
            ctx = dataclasses.replace(
                ctx, multiline=False, prefix=ctx.prefix + _as_comment(site.prompt_chunk, ctx)
            )

        cached = None if request.prewarm else self.cache.get(ctx)
        if cached is not None and request.speculative:
            return ""
        if cached is not None:
            self._send(request, cached, True, "cache")
            return cached
        if check is not None:
            return self._wrapped_err_check(request, check, ctx)

        try:
            self.backend.prepare()
        except LocalLLMError as exc:
            if request.cancel.cancelled:
                return ""
            self._send_error(request, str(exc))
            return ""
        if request.cancel.cancelled:
            return ""

        params = self.settings.generation
        if request.prewarm:
            params = dataclasses.replace(params, n_predict=1)
        max_lines = self.settings.max_lines
        raw = ""
        shown = ""
        timings.backend_start_ns = time.monotonic_ns()
        # The time limit counts from the first token, whatever the backend: a server that
        # stalls mid-answer (or streams on past it) is stopped and what it produced is shown.
        limit = Cancellation()
        request.cancel.on_cancel(limit.cancel)
        timer: threading.Timer | None = None
        stream = self.backend.complete(ctx, params, limit, timings)
        # The calls a backend makes for the answer (tokenizing) end with it, too.
        with limit.governs_calls():
            try:
                for piece in stream:
                    now = time.monotonic_ns()
                    if not timings.first_token_ns:
                        timings.first_token_ns = now
                        timer = threading.Timer(params.time_limit_ms / 1000.0, limit.cancel)
                        timer.daemon = True
                        timer.start()
                    timings.last_token_ns = now
                    raw += piece
                    if request.cancel.cancelled:
                        break
                    partial = clean(raw, ctx, final=False, max_lines=max_lines)
                    text = partial.text
                    if site is not None and text:
                        # Every state shown must pass the checks: a name not yet known is not
                        # shown in the hope that it becomes one.
                        text = site.check(ctx.middle, text, final=True)
                    if text and text != shown:
                        shown = text
                        self._send(request, shown, False, "model")
                    if partial.complete:
                        timings.finish = timings.finish or partial.reason
                        break
            except LocalLLMError as exc:
                if request.cancel.cancelled:
                    return ""  # an error caused by our own cancellation: nothing to report
                self._send_error(request, str(exc))
                return ""
            finally:
                if timer is not None:
                    timer.cancel()
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
        if limit.cancelled and not request.cancel.cancelled:
            timings.finish = "time_limit"
        if request.cancel.cancelled:
            timings.finish = "cancelled"
            timings.done_ns = time.monotonic_ns()
            if not request.speculative:
                self.history.append({"id": request.id, **timings.as_dict()})
            return ""
        if request.prewarm:
            return ""  # it only filled the model's cache
        final = clean(raw, ctx, final=True, max_lines=max_lines).text
        final = fit_to_syntax(final, ctx)  # multi-line only: cut back to what parses
        if self.settings.rules.go_errors and ctx.language == "go" and "return" in final:
            final = self._our_zero_values(request, final, whole)
        if site is not None and final:
            final = site.check(ctx.middle, final, final=True)
        if final:
            self.cache.put(ctx, final)
        # Buffer text and model output: the log file gets them at the debug level only.
        log.debug("request %s: line %r, suggestion %r", request.id, ctx.middle, final)
        self._send(request, final, True, "model")
        return final

    # -- rules that need no model --------------------------------------------------------

    def _err_check(self, request: CompletionRequest, whole: str | None) -> ErrCheck | None:
        """Go: the `if err != nil` block at the cursor, when one belongs there."""
        snap = request.snapshot
        if not self.settings.rules.go_errors:
            return None
        if treesitter.language_for(snap.filetype, snap.path) != "go":
            return None
        before, after = utf8.split_at_byte(snap.cursor_line, snap.col)
        if after.strip():
            return None
        if whole is None:
            if snap.first_line != 0 or len(snap.lines) != snap.line_count:
                return None  # the function around the cursor may be out of sight
            whole = "\n".join(snap.lines)
        try:
            return suggest_err_check(
                whole,
                snap.row,
                before,
                after,
                snap.indent,
                path=snap.path,
                packages=self.go_packages,
                key=snap.path,
            )
        except Exception:  # a rule must never cost the user the model's suggestion
            log.exception("error check failed")
            return None

    def _log_site(
        self, request: CompletionRequest, ctx: FimContext, whole: str | None
    ) -> LogSite | None:
        """The log call the cursor line starts, with what the model should know about it."""
        if not self.settings.rules.log_lines or ctx.language not in LOG_LANGUAGES:
            return None
        if ctx.line_suffix.strip(" \t)];"):
            return None
        snap = request.snapshot
        whole, row = _text_and_row(snap, whole)
        try:
            site = find_log_site(whole, row, snap.col, ctx.language, snap.path, key=snap.path)
            if site is not None and ctx.language == "go" and snap.path:
                # A Go package is its folder: names declared in the other files are in scope.
                others = self.definitions.definitions_in_folder(
                    os.path.dirname(snap.path) or ".", "go", exclude=snap.path
                )
                site = dataclasses.replace(site, identifiers=site.identifiers | set(others))
            return site
        except Exception:  # a rule must never cost the user the model's suggestion
            log.exception("log line analysis failed")
            return None

    def _our_zero_values(self, request: CompletionRequest, text: str, whole: str | None) -> str:
        """Go: a suggestion's error returns give the zero values we know to be right."""
        snap = request.snapshot
        whole, row = _text_and_row(snap, whole)
        try:
            expected = expected_returns(
                whole, row, snap.col, path=snap.path, packages=self.go_packages, key=snap.path
            )
        except Exception:
            log.exception("return check failed")
            return text
        return text if expected is None else correct_returns(text, *expected)

    def _wrapped_err_check(
        self, request: CompletionRequest, check: ErrCheck, ctx: FimContext
    ) -> str:
        """The file wraps its errors: show the block with a guessed message at once, then ask
        the model for the message alone; the return values stay ours."""
        self._send(request, check.text, False, "rule")
        final = check
        message = self._ask_message(request, check)
        if message:
            final = check.with_message(message)
        if request.cancel.cancelled:
            return ""
        if message:
            self.cache.put(ctx, final.text)  # the model is asked once per place
        self._send(request, final.text, True, "rule+model" if message else "rule")
        return final.text

    def _ask_message(self, request: CompletionRequest, check: ErrCheck) -> str:
        if self.backend.name == "none":
            return ""
        # As if the user had typed the block up to the message (the window only: the host's
        # copy of the buffer does not have it).
        snap = request.snapshot.with_insertion(check.message_prefix)
        ctx = build_context(snap, self.settings.context, root=request.root)
        params = dataclasses.replace(self.settings.generation, n_predict=24, stop=('"', "\n"))
        raw = ""
        # The block is already on screen: a slow or stalled model only loses the message.
        limit = Cancellation()
        request.cancel.on_cancel(limit.cancel)
        timer = threading.Timer(params.time_limit_ms / 1000.0, limit.cancel)
        timer.daemon = True
        timer.start()
        try:
            with limit.governs_calls():
                self.backend.prepare()
                stream = self.backend.complete(ctx, params, limit, RequestTimings())
                try:
                    for piece in stream:
                        raw += piece
                        if '"' in raw or "\n" in raw or limit.cancelled:
                            break
                finally:
                    close = getattr(stream, "close", None)
                    if close is not None:
                        close()
        except LocalLLMError as exc:
            log.info("no error message from the model (%s)", type(exc).__name__)
            log.debug("no error message from the model: %s", exc)
            return ""
        finally:
            timer.cancel()
        if limit.cancelled and '"' not in raw:
            return ""  # cut off before the message ended
        return clean_message(raw, check.message_suffix)
