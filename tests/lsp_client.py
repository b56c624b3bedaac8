"""A stdio LSP client for the tests and the benchmark: starts the real `localllm lsp` process,
frames messages with the package's own Connection, and waits on answers by id (a reader
thread hands each message over; nothing sleeps for time)."""

from __future__ import annotations

import itertools
import os
import queue
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from localllm.jsonrpc import Connection

REPO = Path(__file__).resolve().parent.parent


def uri_of(path: str | Path) -> str:
    return Path(path).resolve().as_uri()


class LspClient:
    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        # A file, not a pipe: a server that logs much must never block on a full pipe.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed with the client)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "localllm", "lsp", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env={**os.environ, "PYTHONPATH": str(REPO / "python"), **(env or {})},
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.conn = Connection(self.proc.stdout, self.proc.stdin)  # type: ignore[arg-type]
        self._ids = itertools.count(1)
        self._answers: dict[Any, queue.Queue[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.notifications: queue.Queue[dict[str, Any]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            message = self.conn.read()
            if message is None:
                self.notifications.put({"method": "<eof>"})
                return
            if "id" in message and "method" not in message:
                self._box(message["id"]).put(message)
            else:
                self.notifications.put(message)

    def _box(self, request_id: Any) -> queue.Queue[dict[str, Any]]:
        with self._lock:
            return self._answers.setdefault(request_id, queue.Queue())

    def send(self, method: str, params: Any) -> int:
        """Send a request; returns its id (answer() waits for the answer)."""
        request_id = next(self._ids)
        self._box(request_id)
        self.conn.write({"id": request_id, "method": method, "params": params})
        return request_id

    def answer(self, request_id: int, timeout: float = 60) -> dict[str, Any]:
        """The whole response message ({"result"} or {"error"})."""
        return self._box(request_id).get(timeout=timeout)

    def request(self, method: str, params: Any, timeout: float = 60) -> Any:
        message = self.answer(self.send(method, params), timeout)
        assert "error" not in message, message
        return message["result"]

    def notify(self, method: str, params: Any) -> None:
        self.conn.write({"method": method, "params": params})

    def notification(self, method: str, timeout: float = 30) -> dict[str, Any]:
        """The next notification named `method` (others before it are dropped)."""
        while True:
            message = self.notifications.get(timeout=timeout)
            if message.get("method") in (method, "<eof>"):
                return message

    def initialize(self, options: dict[str, Any] | None = None, utf8: bool = True) -> Any:
        encodings = ["utf-8", "utf-16"] if utf8 else ["utf-16"]
        params = {
            "processId": os.getpid(),
            "rootUri": None,
            "capabilities": {"general": {"positionEncodings": encodings}},
            "initializationOptions": options or {},
        }
        result = self.request("initialize", params)
        self.notify("initialized", {})
        return result

    def open(self, path: str | Path, text: str, language: str = "go", version: int = 1) -> str:
        uri = uri_of(path)
        item = {"uri": uri, "languageId": language, "version": version, "text": text}
        self.notify("textDocument/didOpen", {"textDocument": item})
        return uri

    def inline(self, uri: str, line: int, character: int, timeout: float = 60) -> Any:
        params = position(uri, line, character)
        return self.request("textDocument/inlineCompletion", params, timeout)

    def close(self) -> int:
        """shutdown, exit; the exit code."""
        if self.proc.poll() is None:
            try:
                self.request("shutdown", None, timeout=30)
                self.notify("exit", None)
            except (OSError, ValueError):
                pass
        try:
            return self.proc.wait(timeout=30)
        finally:
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    stream.close()
            self._stderr.close()

    def stderr(self) -> str:
        """What the server logged so far (before close())."""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")


def position(uri: str, line: int, character: int) -> dict[str, Any]:
    return {
        "textDocument": {"uri": uri},
        "position": {"line": line, "character": character},
        "context": {"triggerKind": 2},
    }
