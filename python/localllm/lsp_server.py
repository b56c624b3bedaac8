"""`localllm lsp`: the engine as a language server on stdio, for editors that show inline
completions from LSP (Neovim 0.12's `vim.lsp.inline_completion`, VS Code) or plain completion
items (Helix, Zed, any client).

It answers `textDocument/inlineCompletion` (LSP 3.18) with one item, the suggestion the ghost
text would show, inserted at the cursor (an empty range there), and `textDocument/completion`
with the same suggestion as one item whose edit starts at the word before the cursor, so that
the client's filtering keeps it while the user types that word. LSP has no streamed answers:
a request gets the engine's final suggestion.

The engine keeps only the latest request (worker.LatestWins), so a new completion request
answers any older one still waiting with an empty result; `$/cancelRequest` answers with
RequestCancelled; a request that finds no suggestion within its deadline answers with an error
that says so. Settings are the plugin's (config_schema.py): the command line's `--config`,
`--backend`, `--model`, then the client's `initializationOptions` on top.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from . import __version__, utf8
from .backends import daemon_timer
from .config import read_settings
from .engine import CompletionRequest, Engine, Update
from .errors import LocalLLMError
from .jsonrpc import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    REQUEST_CANCELLED,
    REQUEST_FAILED,
    SERVER_NOT_INITIALIZED,
    Connection,
    FramingError,
    ResponseError,
)
from .lsp_documents import Documents, OpenDocument, path_of, to_character
from .privacy import PrivateFormatter
from .types import BufferSnapshot, RequestTimings

log = logging.getLogger("localllm")

DEADLINE_MS = 10_000
# window/showMessage types, by the engine's notice levels.
_MESSAGE_TYPES = {"error": 1, "warn": 2, "info": 3, "debug": 4}
_WORD_BEFORE = re.compile(r"\w*\Z")
_LATER = object()  # a request handler's result: the answer is sent when the engine has it


def merged(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """`over` on top of `base`, table by table (a section given in part keeps the rest)."""
    out = dict(base)
    for key, value in over.items():
        old = out.get(key)
        both = isinstance(value, Mapping) and isinstance(old, Mapping)
        out[key] = merged(old, value) if both else value  # type: ignore[arg-type]
    return out


def _position(line: str, col: int, row: int, encoding: str) -> dict[str, int]:
    index = len(utf8.split_at_byte(line, col)[0])
    return {"line": row, "character": to_character(line, index, encoding)}


def inline_result(text: str, snap: BufferSnapshot, encoding: str) -> dict[str, Any]:
    """An InlineCompletionList: the suggestion inserted at the cursor, nothing replaced (the
    engine already cut what the line has after the cursor)."""
    if not text:
        return {"items": []}
    at = _position(snap.cursor_line, snap.col, snap.row, encoding)
    return {"items": [{"insertText": text, "range": {"start": at, "end": at}}]}


def completion_result(text: str, snap: BufferSnapshot, encoding: str) -> dict[str, Any]:
    """A CompletionList of one item: its edit replaces the word before the cursor with that
    word and the suggestion, so the item matches what the user typed; `isIncomplete` has
    the client ask again as the user types on."""
    if not text:
        return {"isIncomplete": True, "items": []}
    line = snap.cursor_line
    before = utf8.split_at_byte(line, snap.col)[0]
    word = _WORD_BEFORE.search(before)
    typed = word.group() if word else ""
    end = _position(line, snap.col, snap.row, encoding)
    start = {"line": snap.row, "character": to_character(line, len(before) - len(typed), encoding)}
    first_line = text.split("\n", 1)[0]
    item: dict[str, Any] = {
        "label": typed + first_line,
        "filterText": typed + first_line,
        "kind": 1,  # CompletionItemKind.Text
        "detail": "localllm",
        "sortText": "0",
        "insertTextFormat": 1,  # plain text, not a snippet
        "textEdit": {"range": {"start": start, "end": end}, "newText": typed + text},
    }
    if "\n" in text:  # the label shows the first line only
        item["documentation"] = {"kind": "plaintext", "value": typed + text}
    return {"isIncomplete": True, "items": [item]}


Answer = Callable[[str, BufferSnapshot, str], dict[str, Any]]


@dataclass(slots=True)
class Pending:
    """An LSP request the engine works on."""

    lsp_id: Any
    request: CompletionRequest
    answer: Answer
    timer: threading.Timer | None = None


class LspServer:
    def __init__(
        self, conn: Connection, config: Mapping[str, Any], deadline_ms: int = DEADLINE_MS
    ) -> None:
        self.conn = conn
        self.config = dict(config)
        self.deadline_ms = deadline_ms
        self.engine: Engine | None = None
        self.documents: Documents | None = None
        self.problem: str | None = None  # why there is no engine (a refused setting)
        self.roots: list[str] = []
        self.encoding = "utf-16"
        self._initialized = False
        self._shut_down = False
        self._lock = threading.Lock()
        self._pending: dict[int, Pending] = {}  # by the engine request's id
        self._ids = itertools.count(1)
        self._shown: set[str] = set()  # error messages already shown: each once

    # -- the loop ----------------------------------------------------------------------------

    def serve(self) -> int:
        """Read and handle messages until `exit` or the end of input; the exit code."""
        try:
            while True:
                try:
                    message = self.conn.read()
                except ResponseError as exc:
                    self.conn.respond_error(None, exc)
                    continue
                if message is None:
                    return 0 if self._shut_down else 1
                if message.get("method") == "exit":
                    return 0 if self._shut_down else 1
                self._handle(message)
        except FramingError as exc:
            log.error("stopping: %s", exc)
            return 1
        finally:
            self._stop()

    def _handle(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        params = message.get("params") or {}
        if "id" not in message:
            if isinstance(method, str) and self._initialized:
                self._notification(method, params)
            return  # a response to us (we send no requests), or a notification too early
        request_id = message["id"]
        try:
            result = self._request(request_id, str(method), params)
        except ResponseError as exc:
            self.conn.respond_error(request_id, exc)
        except (KeyError, TypeError, ValueError) as exc:
            self.conn.respond_error(request_id, ResponseError(INVALID_PARAMS, f"bad params: {exc}"))
        except Exception as exc:  # the server outlives any one request
            log.exception("%s failed", method)
            self.conn.respond_error(request_id, ResponseError(REQUEST_FAILED, str(exc)))
        else:
            if result is not _LATER:
                self.conn.respond(request_id, result)

    def _request(self, request_id: Any, method: str, params: dict[str, Any]) -> Any:
        if method == "initialize":
            return self._initialize(params)
        if not self._initialized:
            raise ResponseError(SERVER_NOT_INITIALIZED, "initialize first")
        if self._shut_down:
            raise ResponseError(INVALID_REQUEST, "the server is shut down")
        if method == "shutdown":
            self._stop()
            self._shut_down = True
            return None
        if method == "textDocument/inlineCompletion":
            return self._complete(request_id, params, inline_result)
        if method == "textDocument/completion":
            return self._complete(request_id, params, completion_result)
        raise ResponseError(METHOD_NOT_FOUND, f"unsupported request {method}")

    def _notification(self, method: str, params: dict[str, Any]) -> None:
        documents = self.documents
        try:
            if method == "$/cancelRequest":
                self._cancel(params["id"])
            elif documents is None:
                return
            elif method == "textDocument/didOpen":
                item = params["textDocument"]
                documents.open(item["uri"], item["languageId"], item["version"], item["text"])
            elif method == "textDocument/didChange":
                item = params["textDocument"]
                documents.change(item["uri"], item["version"], params["contentChanges"])
            elif method == "textDocument/didClose":
                documents.close(params["textDocument"]["uri"])
        except (KeyError, TypeError, ValueError) as exc:
            # Its details may quote buffer text: debug only.
            log.warning("bad %s (%s)", method, type(exc).__name__)
            log.debug("bad %s: %s", method, exc)

    # -- initialize and shutdown ------------------------------------------------------------

    def _initialize(self, params: dict[str, Any]) -> dict[str, Any]:
        offered = (params.get("capabilities") or {}).get("general", {}).get("positionEncodings")
        self.encoding = "utf-8" if "utf-8" in (offered or ()) else "utf-16"
        self.roots = _roots(params)
        options = params.get("initializationOptions")
        self._configure(merged(self.config, options if isinstance(options, Mapping) else {}))
        self._initialized = True
        return {
            "capabilities": {
                "positionEncoding": self.encoding,
                # openClose, and changes as ranges (TextDocumentSyncKind.Incremental).
                "textDocumentSync": {"openClose": True, "change": 2},
                "inlineCompletionProvider": True,
                "completionProvider": {"resolveProvider": False},
            },
            "serverInfo": {"name": "localllm", "version": __version__},
        }

    def _configure(self, raw: dict[str, Any]) -> None:
        try:
            settings, warnings = read_settings(raw)
        except LocalLLMError as exc:
            self.problem = str(exc)
            self._show("error", f"localllm: {exc}")
            return
        setup_logging(settings.log_level)
        for warning in warnings:
            self._show("warn", f"localllm: {warning}")
        self.engine = Engine(settings, self._deliver, notify=self._show)
        self.documents = Documents(self.engine.buffers, self.engine.denied, self.encoding)
        # Load the model (or reach the server) now, not in the first request's deadline.
        threading.Thread(
            target=_prepare, args=(self.engine,), name="localllm-prepare", daemon=True
        ).start()
        log.info("localllm %s language server: backend %s", __version__, settings.backend)

    def _stop(self) -> None:
        """Answer what is still waiting (with nothing) and stop the engine."""
        for pending in self._take(lambda pending: True):
            empty = pending.answer("", pending.request.snapshot, self.encoding)
            self.conn.respond(pending.lsp_id, empty)
        if self.engine is not None:
            self.engine.close()
            self.engine = None

    # -- completion requests ----------------------------------------------------------------

    def _complete(self, lsp_id: Any, params: dict[str, Any], answer: Answer) -> Any:
        engine, doc = self._engine(), self._document(params)
        if doc is None or doc.denied:  # a denied file: nothing of it goes anywhere
            return answer("", _EMPTY, self.encoding)
        assert self.documents is not None
        try:
            snap = self.documents.snapshot(doc, params["position"], engine.settings.context)
        except ValueError as exc:
            raise ResponseError(INVALID_PARAMS, str(exc)) from None
        request = CompletionRequest(
            id=next(self._ids),
            bufnr=doc.bufnr,
            snapshot=snap,
            timings=RequestTimings(received_ns=time.monotonic_ns()),
            root=self._root_of(doc.path),
        )
        pending = Pending(lsp_id, request, answer)
        # Latest wins: the engine drops the older ones; they get an empty answer now.
        for old in self._take(lambda pending: True):
            self.conn.respond(old.lsp_id, old.answer("", old.request.snapshot, self.encoding))
        with self._lock:
            self._pending[request.id] = pending
        pending.timer = daemon_timer(self.deadline_ms / 1000, self._expire, request.id)
        engine.submit(request)
        return _LATER

    def _engine(self) -> Engine:
        if self.engine is None:
            raise ResponseError(REQUEST_FAILED, f"localllm: {self.problem or 'not configured'}")
        return self.engine

    def _document(self, params: dict[str, Any]) -> OpenDocument | None:
        return None if self.documents is None else self.documents.get(params["textDocument"]["uri"])

    def _root_of(self, path: str) -> str | None:
        """The workspace folder holding `path` (the innermost), else the file's folder."""
        inside = [root for root in self.roots if path.startswith(root.rstrip(os.sep) + os.sep)]
        if inside:
            return max(inside, key=len)
        return os.path.dirname(path) or None

    def _deliver(self, update: Update) -> None:
        """The engine's update (worker thread): the final one answers its LSP request."""
        if not update.final:
            return
        taken = self._take(lambda pending: pending.request.id == update.id)
        for pending in taken:
            if update.error is not None:
                self._show("error", f"localllm: {update.error}")
                self.conn.respond_error(
                    pending.lsp_id, ResponseError(REQUEST_FAILED, f"localllm: {update.error}")
                )
            else:
                snap = pending.request.snapshot
                self.conn.respond(pending.lsp_id, pending.answer(update.text, snap, self.encoding))

    def _cancel(self, lsp_id: Any) -> None:
        for pending in self._take(lambda pending: pending.lsp_id == lsp_id):
            if self.engine is not None:
                self.engine.cancel(pending.request.id)
            self.conn.respond_error(pending.lsp_id, ResponseError(REQUEST_CANCELLED, "cancelled"))

    def _expire(self, request_id: int) -> None:
        """The deadline passed (a timer thread): stop the request and say why."""
        for pending in self._take(lambda pending: pending.request.id == request_id):
            if self.engine is not None:
                self.engine.cancel(request_id)
            message = f"localllm: no suggestion within {self.deadline_ms} ms"
            self.conn.respond_error(pending.lsp_id, ResponseError(REQUEST_FAILED, message))

    def _take(self, which: Callable[[Pending], bool]) -> list[Pending]:
        """Remove the pending requests `which` selects (each is answered once, by its taker)."""
        with self._lock:
            taken = [pending for pending in self._pending.values() if which(pending)]
            for pending in taken:
                del self._pending[pending.request.id]
        for pending in taken:
            if pending.timer is not None:
                pending.timer.cancel()
        return taken

    def _show(self, level: str, message: str) -> None:
        """window/showMessage; an error once (a broken model fails every request alike)."""
        if level == "error":
            if message in self._shown:
                return
            self._shown.add(message)
        self.conn.notify(
            "window/showMessage", {"type": _MESSAGE_TYPES.get(level, 3), "message": message}
        )


_EMPTY = BufferSnapshot("", "", ("",), 0, 0, 0, 1)  # for the answer to a request with no text


def _prepare(engine: Engine) -> None:
    try:
        engine.backend.prepare()
    except LocalLLMError as exc:  # the first request that needs the backend says it
        log.info("backend not ready: %s", type(exc).__name__)


def _roots(params: Mapping[str, Any]) -> list[str]:
    folders = params.get("workspaceFolders") or []
    uris = [folder["uri"] for folder in folders if isinstance(folder, Mapping)]
    if not uris and params.get("rootUri"):
        uris = [params["rootUri"]]
    return [path for path in map(path_of, uris) if path]


def setup_logging(level: str) -> None:
    """Log to stderr (stdout is the protocol); clients keep it in their LSP log. No buffer
    text below the debug level (PrivateFormatter)."""
    levels = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING}
    log.setLevel(levels.get(level, logging.ERROR))
    log.propagate = False
    for handler in list(log.handlers):
        log.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        PrivateFormatter("localllm-lsp %(levelname)s %(name)s: %(message)s", debug=level == "debug")
    )
    log.addHandler(handler)


def serve(
    config: Mapping[str, Any],
    *,
    deadline_ms: int = DEADLINE_MS,
    reader: BinaryIO | None = None,
    writer: BinaryIO | None = None,
) -> int:
    setup_logging("warn")
    conn = Connection(reader or sys.stdin.buffer, writer or _protocol_stdout())
    return LspServer(conn, config, deadline_ms).serve()


def _protocol_stdout() -> BinaryIO:
    """Standard output for the protocol alone: whatever else writes to file descriptor 1
    (a native library's print) goes to stderr instead of breaking the framing."""
    sys.stdout.flush()
    protocol = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return protocol
